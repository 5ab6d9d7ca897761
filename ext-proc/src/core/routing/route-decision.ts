// The router's answer for one request, as plain typed facts. How they travel (Envoy
// headers, load-balancer metadata, a rewritten body; or a simulated engine's queue) is the
// caller's business: the router knows no protocol.
import type { Transition, WorkflowMode } from '../../../../core/src/workflow/workflow-model.js';
import type { CompletedRequest } from './completed-request.js';
import type { RetentionRequest } from './retention.js';
import type { RouteInput } from './route-input.js';

/** What the learned workflow model predicted for this request, as it was applied. */
export interface PredictionInForce {
  readonly mode: WorkflowMode;
  /** Output-token bound for this request's agent, when known. */
  readonly outputBound: number | null;
  /** Most likely next stage roles, best first. */
  readonly nextAgents: readonly Transition[];
}

export interface RouteDecision {
  readonly pool: string;
  readonly endpoint: string;
  /** Endpoints to try next, in order, when the chosen one fails. */
  readonly fallbacks: readonly string[];
  /** The scheduling profile that decided. */
  readonly profile: string;
  /** 0 (most urgent) .. 100, for proactive workflows with the priority lever on; else null. */
  readonly priority: number | null;
  /**
   * The priority the model server's request body must carry (vLLM's `priority` field, on
   * pools configured for it), or null to leave the body as the client sent it.
   */
  readonly enginePriority: number | null;
  /** Null when the request has no workflow model (plain traffic, unknown workflow). */
  readonly prediction: PredictionInForce | null;
  /**
   * Keep this request's KV after it ends for the session's next request (ttlMs 0: release
   * what the session holds), with the retention lever on; null: no hint.
   */
  readonly retention: RetentionRequest | null;
}

export interface RequestRouter {
  /** Throws PythiaError (unknown model, no ready endpoint) to answer the client locally. */
  route(input: RouteInput): RouteDecision;
  /** Called once per routed request when it ends, however it ends. */
  complete(decision: RouteDecision, input: RouteInput, outcome: CompletedRequest): void;
}
