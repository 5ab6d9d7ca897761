// One completed LLM request as the profiler sees it (pythia.v1.TraceRecord, camelCase).
import { exchangeKey } from './request-start.js';

export type TraceStatus = 'OK' | 'UPSTREAM_ERROR' | 'CANCELLED' | 'REJECTED';

export interface Trace {
  readonly requestId: string;
  readonly workflow: string;
  readonly session: string;
  readonly agent: string;
  readonly model: string;
  readonly pool: string;
  readonly endpoint: string;
  readonly promptTokens: number;
  readonly cachedTokens: number | null;
  readonly outputTokens: number;
  readonly outputTokensReported: boolean;
  readonly queueMs: number;
  readonly firstTokenMs: number;
  readonly totalMs: number;
  readonly startUnixMs: number;
  readonly endUnixMs: number;
  readonly status: TraceStatus;
  readonly httpStatus: number;
  readonly promptBytes: number;
  readonly sessionEnd: boolean;
  readonly predictedAgent: string;
  readonly predictedOutputTokens: number;
  readonly mode: string;
  /**
   * The exchange's own id (ext-proc's process tag and counter), unique per request whatever
   * the client sends; '' from a replica older than the field.
   */
  readonly exchange: string;
}

/**
 * What recognises a trace published or delivered again (its JetStream Nats-Msg-Id, the
 * profiler's redelivery check): its exchange id within its session. The request id is the
 * client's x-request-id, which clients may repeat (a constant, a retry, another client's on
 * purpose): keyed by it, a session's second request with the id was dropped as a duplicate
 * of its first. Traces of replicas older than the exchange id fall back to the request id.
 * No identifier or request id contains `/`.
 */
export function traceDedupeId(t: Pick<Trace, 'workflow' | 'session' | 'requestId' | 'exchange'>): string {
  return `${t.workflow}/${t.session}/${exchangeKey(t)}`;
}

/** The trace's free-text fields (all but `status`, an enumeration). */
export const TRACE_TEXT_FIELDS = [
  'requestId',
  'workflow',
  'session',
  'agent',
  'model',
  'pool',
  'endpoint',
  'predictedAgent',
  'mode',
  'exchange',
] as const;
