// What the router reads of one request: the parts of the OpenAI body it needs, the workflow
// identifiers and the request id. The edge that parsed the request keeps the raw bytes.
import type { IdentitySource } from '../../../../core/src/identity/resolver.js';
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';

export type LlmApi = 'chat' | 'completions';

export interface LlmRequest {
  readonly api: LlmApi;
  readonly model: string;
  readonly stream: boolean;
  /** max_tokens or max_completion_tokens when the client set one. */
  readonly maxTokens: number | null;
  /** Bytes of the JSON body: a tokenizer-free size signal (about 4 bytes per token). */
  readonly bodyBytes: number;
  /** The parsed body, kept for later stages (prompt prefix hashing, the priority field). */
  readonly json: Record<string, unknown>;
}

export interface RouteInput {
  readonly llm: LlmRequest;
  readonly identity: WorkflowIdentity | null;
  /** Where the identity came from (absent: the Pythia headers, or none). */
  readonly identitySource?: IdentitySource;
  readonly requestId: string;
  /** This exchange's own id, unique whatever the client sends (Trace.exchange). */
  readonly exchange: string;
  /** The client marked this as the session's last request. */
  readonly sessionEnd: boolean;
  /**
   * The role fingerprint id behind an `r-other` agent not established when the request was
   * resolved (ResolvedIdentity.pendingRole): its trace names the role if established by its end.
   */
  readonly pendingRole?: string;
}
