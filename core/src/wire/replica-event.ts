// What one ext-proc replica tells the others about its live sessions (pythia.v1.ReplicaEvent,
// camelCase). Every replica folds every other replica's events into its own view, so a
// session's requests decide the same wherever Envoy sends them.
import type { IdentityShare } from '../identity/resolver.js';
import type { OrderMark } from '../prompt/order-mark.js';
import type { WorkflowIdentity } from '../workflow/identifiers.js';

export interface ReplicaTurn {
  readonly role: string;
  readonly content: string;
}

/** A request routed: where it went, its footprint and the prefix blocks it placed there. */
export interface ReplicaStartBody {
  readonly kind: 'start';
  /**
   * The sending replica's own number for the request (1, 2, ... per replica), the key its end
   * is matched by. Never the client's x-request-id: a client may send one id on several
   * concurrent requests (a retry, or on purpose), and one request's end must not release
   * another's footprint.
   */
  readonly flight: number;
  readonly identity: WorkflowIdentity;
  readonly endpoint: string;
  readonly reservedTokens: number;
  readonly overflow: number;
  readonly decodeTokens: number;
  readonly prefixHashes: readonly number[];
  /** The agent's system prompt, when this replica first saw it or it changed. */
  readonly prompt: { readonly model: string; readonly system: string } | null;
  /**
   * Its last conversation message's mark (prompt/order-mark.ts): a later request of the
   * session that answers it proves this one ended before its end event arrives (null: none).
   */
  readonly order: OrderMark | null;
  /**
   * The marks of running requests of the session this one's history proved ended on the
   * sending replica: every replica settles them too, so the request joins the same stage everywhere.
   */
  readonly settles: readonly OrderMark[];
}

/** A routed request ended. */
export interface ReplicaEndBody {
  readonly kind: 'end';
  /** The `flight` of the request's start. */
  readonly flight: number;
  readonly identity: WorkflowIdentity;
  readonly sessionEnd: boolean;
  /** The session's latest exchange, when warming recorded it (no messages: it was dropped, too long). */
  readonly history: { readonly model: string; readonly messages: readonly ReplicaTurn[] } | null;
}

/** An endpoint reserved for a session's next agent, and the blocks a warm placed there. */
export interface ReplicaReserveBody {
  readonly kind: 'reserve';
  readonly identity: WorkflowIdentity;
  readonly endpoint: string;
  /** Remaining reservation time when sent. */
  readonly forMs: number;
  readonly warmHashes: readonly number[];
}

/**
 * A request identified without the Pythia headers (native session header or chaining): its
 * session, workflow type and role as ids, its conversation's last prefix hash; never text.
 */
export interface ReplicaIdentityBody extends IdentityShare {
  readonly kind: 'identity';
}

export interface ReplicaHeartbeatBody {
  readonly kind: 'heartbeat';
  readonly inFlight: number;
}

export type ReplicaEventBody =
  ReplicaStartBody | ReplicaEndBody | ReplicaReserveBody | ReplicaIdentityBody | ReplicaHeartbeatBody;

export interface ReplicaEvent {
  /** Random per process. */
  readonly replica: string;
  /** Per replica, from 1, without gaps. */
  readonly seq: number;
  readonly unixMs: number;
  readonly body: ReplicaEventBody;
}
