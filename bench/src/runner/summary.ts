// One policy's run summarised for the report: JCT and TTFT quantiles, throughput, cache and
// warming figures, GPU-seconds; the learned models' live scores when the profiler ran. The
// field names and roundings are the report's format (README, tests and readers depend on them).
import type { ClusterRunResult } from '../sim/cluster.js';
import { isMeasured } from './plans.js';
import { quantile } from '../../../core/src/stats/quantile.js';
import { configSchema } from '../../../common/src/config/schema.js';

export interface FrontierSummary {
  readonly gpu_saving_at_equal_p95: number | null;
  readonly gpu_saving_lower_bound: number | null;
  readonly p95_ratio_at_equal_gpu: number | null;
  readonly p95_ratio_lower_bound: number | null;
  readonly frontier: readonly string[];
}

export interface BaselineRatios {
  readonly jct_mean: number | null;
  readonly jct_p95: number | null;
  readonly output_throughput: number | null;
}

/** The service's default `scheduler.flow_control.queue_ttl_s` (the bench holds far longer). */
export const DEFAULT_QUEUE_TTL_S: number = configSchema.shape.scheduler.parse({}).flow_control.queue_ttl_s;

/** What flow control held in a run (policies with flow control on only). */
export interface FlowSummary {
  /** Requests held (warm-up sessions' included) and shed (429). */
  readonly held: number;
  readonly shed: number;
  /** Seconds held requests waited: mean, p95 and the longest (null when none was held). */
  readonly hold_mean_s: number | null;
  readonly hold_p95_s: number | null;
  readonly hold_max_s: number | null;
  /** Held past the service's default `queue_ttl_s`: 429s in a deployment with the defaults. */
  readonly held_past_default_ttl: number;
}

export interface PolicySummary {
  readonly jct_mean_s: number | null;
  readonly jct_p50_s: number | null;
  readonly jct_p95_s: number | null;
  readonly jct_p99_s: number | null;
  readonly ttft_p50_s: number | null;
  readonly ttft_p95_s: number | null;
  readonly output_tokens_per_s: number | null;
  readonly prefix_hit_rate: number | null;
  readonly preemptions: number;
  readonly gpu_seconds: number | null;
  readonly warm_requests: number;
  readonly warm_hits: number;
  readonly warm_outcomes: Readonly<Record<string, number>>;
  readonly sessions_completed: number;
  /** With the profiler in the loop (pythia) only. */
  readonly next_agent_accuracy?: number | null;
  readonly output_bound_coverage?: number | null;
  readonly promoted_at_s?: number | null;
  readonly wall_s: number | null;
  /** Policies with flow control on: what it held. */
  readonly flow_control?: FlowSummary;
  /** Forecast-autoscaled policies: against the reactive scaler with the same routing. */
  readonly vs_reactive_frontier?: FrontierSummary;
  /** `pythia` only: each baseline's figure over pythia's (throughput: pythia's over the baseline's). */
  readonly ratios_vs?: Readonly<Record<string, BaselineRatios>>;
}

/** Rounded to `d` decimals; null for a missing or NaN figure (JSON has no NaN). */
export const round = (v: number | null, d = 3): number | null =>
  v === null || Number.isNaN(v) ? null : +v.toFixed(d);

export type SummarizedResult = Pick<
  ClusterRunResult,
  | 'jctS'
  | 'jctSessions'
  | 'ttftS'
  | 'outputTokens'
  | 'makespanS'
  | 'cachedTokens'
  | 'promptTokens'
  | 'preemptions'
  | 'gpuSeconds'
  | 'warmRequests'
  | 'warmHits'
  | 'warmOutcomes'
  | 'nextAgentAccuracy'
  | 'outputBoundCoverage'
  | 'promotedAtS'
>;

/** JCTs of the measured (not warm-up) sessions, in completion order. */
export function measuredJcts(r: Pick<ClusterRunResult, 'jctS' | 'jctSessions'>): number[] {
  return r.jctS.filter((_, i) => isMeasured(r.jctSessions[i] ?? ''));
}

/**
 * Flow control's holds in a run: requests held, each released one's wait (s), requests shed
 * (a shed request was held too, its wait is not among the releases').
 */
export function summarizeFlow(r: Pick<ClusterRunResult, 'held' | 'heldWaitsS' | 'shed'>): FlowSummary {
  const waitsS = r.heldWaitsS;
  const some = waitsS.length > 0;
  return {
    held: r.held,
    shed: r.shed,
    hold_mean_s: some ? round(waitsS.reduce((a, b) => a + b, 0) / waitsS.length) : null,
    hold_p95_s: some ? round(quantile(waitsS, 0.95)) : null,
    hold_max_s: some ? round(waitsS.reduce((a, b) => Math.max(a, b), 0)) : null,
    held_past_default_ttl: waitsS.filter((w) => w > DEFAULT_QUEUE_TTL_S).length,
  };
}

/** The holds in a log line: `held 12 (mean 1.2 s, p95 3 s, max 4.5 s, 0 past 60 s), shed 0`. */
export function flowLine(f: FlowSummary): string {
  const waits =
    f.hold_mean_s === null
      ? ''
      : ` (mean ${f.hold_mean_s} s, p95 ${f.hold_p95_s} s, max ${f.hold_max_s} s, ${f.held_past_default_ttl} past ${DEFAULT_QUEUE_TTL_S} s)`;
  return `held ${f.held}${waits}, shed ${f.shed}`;
}

/**
 * `learned`: the profiler ran (its scores are reported); `wallS`: the run's wall-clock
 * seconds (measured by the caller).
 */
export function summarize(r: SummarizedResult, learned: boolean, wallS: number): PolicySummary {
  const measured = measuredJcts(r);
  const mean = measured.reduce((a, b) => a + b, 0) / Math.max(1, measured.length);
  return {
    jct_mean_s: round(mean),
    jct_p50_s: round(quantile(measured, 0.5)),
    jct_p95_s: round(quantile(measured, 0.95)),
    jct_p99_s: round(quantile(measured, 0.99)),
    ttft_p50_s: round(quantile(r.ttftS, 0.5)),
    ttft_p95_s: round(quantile(r.ttftS, 0.95)),
    output_tokens_per_s: round(r.outputTokens / r.makespanS, 1),
    prefix_hit_rate: round(r.cachedTokens / Math.max(1, r.promptTokens)),
    preemptions: r.preemptions,
    gpu_seconds: round(r.gpuSeconds, 1),
    warm_requests: r.warmRequests,
    warm_hits: r.warmHits,
    warm_outcomes: r.warmOutcomes,
    sessions_completed: measured.length,
    ...(learned
      ? {
          next_agent_accuracy: round(r.nextAgentAccuracy),
          output_bound_coverage: round(r.outputBoundCoverage),
          promoted_at_s: round(r.promotedAtS, 1),
        }
      : {}),
    wall_s: round(wallS, 1),
  };
}
