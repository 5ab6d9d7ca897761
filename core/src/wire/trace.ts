// One completed LLM request as the profiler sees it (pythia.v1.TraceRecord, camelCase).

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
] as const;
