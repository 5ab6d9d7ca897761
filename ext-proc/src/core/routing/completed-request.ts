// The record of one routed request once it ended: what the router learns from, what becomes
// the workflow trace, and what the metrics count.
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';

export interface UsageReport {
  readonly outputTokens: number;
  /** True when the upstream reported it, false when estimated from text. */
  readonly reported: boolean;
  readonly promptTokens: number | null;
  readonly cachedTokens: number | null;
  /** The generated text, up to the capture bound (for warming the session's history); never logged. */
  readonly outputText: string;
}

export type CompletionStatus = 'OK' | 'UPSTREAM_ERROR' | 'CANCELLED' | 'REJECTED';

export interface CompletedRequest {
  readonly requestId: string;
  /** RouteInput.exchange. */
  readonly exchange: string;
  readonly identity: WorkflowIdentity | null;
  readonly sessionEnd: boolean;
  readonly model: string;
  readonly pool: string;
  readonly endpoint: string;
  readonly promptBytes: number;
  readonly usage: UsageReport;
  /** From the start to the response headers (to the end without them). */
  readonly queueMs: number;
  /** From the start to the first response bytes (to the end without them). */
  readonly firstTokenMs: number;
  readonly totalMs: number;
  readonly startUnixMs: number;
  readonly endUnixMs: number;
  readonly status: CompletionStatus;
  readonly httpStatus: number;
  /** The prediction in force, for live accuracy scoring ('' and 0 without one). */
  readonly predictedAgent: string;
  readonly predictedOutputTokens: number;
  readonly mode: string;
}
