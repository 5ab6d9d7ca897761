// The per-run data the charts need beyond the report's summaries: JCT distributions, replicas
// over time, and the sweep's points.
import type { Row } from './charts.js';
import type { PolicyRun } from './run-policy.js';
import type { PolicySummary } from './summary.js';

export interface ChartSeries {
  /** Workload, then policy label: the measured JCTs. */
  readonly jct: Record<string, Record<string, number[]>>;
  /** Workload: one row per policy and autoscaler decision (replicas on, all pools). */
  readonly replicas: Record<string, Row[]>;
  /** Workload: one row per sweep load and policy. */
  readonly sweep: Record<string, Row[]>;
}

export const emptySeries = (): ChartSeries => ({ jct: {}, replicas: {}, sweep: {} });

/** Replicas on, summed over the pools at each decision. */
export function replicaRows(policy: string, timeline: PolicyRun['timeline']): Row[] {
  const total = new Map<number, number>();
  for (const p of timeline) total.set(p.t, (total.get(p.t) ?? 0) + p.replicas);
  return [...total].map(([t, on]) => ({ policy, t, replicas: on }));
}

export function sweepPoint(sessions: number, policy: string, summary: PolicySummary): Row {
  return {
    sessions,
    policy,
    output_tokens_per_s: summary.output_tokens_per_s as number,
    jct_p95_s: summary.jct_p95_s as number,
  };
}
