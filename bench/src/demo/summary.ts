// The demo's closing summary: what the replay measured, what the profiler learned, and what
// the autoscaler decided, labelled as advice: the demo's simulated replicas are fixed (in a
// cluster, KEDA or the HPA applies the targets), so a "2 -> 1" must not read as a replica
// that stopped.
import type { ScalingDecisionRecord } from '../../../core/src/wire/codec.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';
import type { summarize } from '../e2e/driver.js';

export type Rows = Record<string, string | number>;

export function replayRows(s: ReturnType<typeof summarize>): Rows {
  return {
    'sessions completed': s.sessions_completed,
    'mean JCT (simulated s)': s.jct_mean_s,
    'p95 JCT (simulated s)': s.jct_p95_s,
    'TTFT p50 (simulated s)': s.ttft_p50_s,
    'output tokens/s': s.output_tokens_per_s,
    'prefix-cache hit rate': s.prefix_hit_rate,
    'failed requests': s.failed_requests,
  };
}

export function workflowRows(models: readonly WorkflowModel[]): Rows {
  const rows: Rows = {};
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  for (const wf of models) {
    rows[`workflow ${wf.workflow}`] =
      `${wf.mode}, ${wf.regex}, next-agent accuracy ${pct(wf.nextAgentAccuracy)}, p99 coverage ${pct(wf.outputBoundCoverage)}`;
  }
  return rows;
}

/** One row per pool: the replicas serving, and the autoscaler's target as advice. */
export function scalingRows(
  decisions: Iterable<ScalingDecisionRecord>,
  serving: ReadonlyMap<string, number>,
): Rows {
  const rows: Rows = {};
  const byPool = new Map([...decisions].map((d) => [d.pool, d]));
  for (const [pool, replicas] of serving) {
    const d = byPool.get(pool);
    const advice = d
      ? d.target === replicas
        ? `keep ${d.target} (${d.reason})`
        : `${d.target} (${d.reason})`
      : 'no decision yet';
    rows[`replicas ${pool}`] = `${replicas} serving; autoscaler target ${advice}: advisory here, not applied`;
  }
  return rows;
}
