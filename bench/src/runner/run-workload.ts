// One workload under every policy: the main run (warm-up, then the measured sessions), the
// peak-concurrency sweep's smaller loads, and the cross-policy comparisons.
import type { Row } from './charts.js';
import { replicaRows, sweepPoint } from './chart-series.js';
import { type PolicyResult, withComparisons } from './comparisons.js';
import type { RunnerOptions } from './options.js';
import { generatePlans, isReplayFile, plansFor, sweepSizes } from './plans.js';
import { formatPolicySpec } from './policy-spec.js';
import type { ProgressBar } from './progress.js';
import { type ClusterSetup, runPolicy } from './run-policy.js';
import { type PolicySummary, flowLine } from './summary.js';

export interface WorkloadRun {
  /** Each policy's summary with its comparisons, keyed by label in run order. */
  readonly rows: Record<string, PolicySummary>;
  /** Each policy's measured JCTs. */
  readonly jct: Record<string, number[]>;
  /** Replicas on over time (autoscaled policies; empty otherwise). */
  readonly replicas: Row[];
  /** The sweep's points, the main run last (null: no sweep). */
  readonly sweep: Row[] | null;
}

export function runWorkload(
  workload: string,
  options: RunnerOptions,
  setup: ClusterSetup,
  bar: ProgressBar | null,
  log: (line: string) => void,
): WorkloadRun {
  const plans = plansFor(workload, options, log);
  const runs: PolicyResult[] = [];
  const jct: Record<string, number[]> = {};
  const replicas: Row[] = [];
  for (const spec of options.policies) {
    const policy = formatPolicySpec(spec);
    if (bar) bar.label = workload;
    const { summary, measured, timeline, figures } = runPolicy(spec, plans, setup, bar?.update);
    runs.push({ spec, summary });
    jct[policy] = measured;
    replicas.push(...replicaRows(policy, timeline));
    if (!bar)
      log(
        `${workload} ${policy}: mean JCT ${summary.jct_mean_s} s, prefix hit ${summary.prefix_hit_rate}, ` +
          `prompt ${figures.promptTokensPerRequest} tok/request, prefill ${(100 * figures.prefillShareOfBusyGpu).toFixed(1)}% ` +
          `of busy GPU time, host-tier tokens ${figures.hostTokens}, ${summary.flow_control ? flowLine(summary.flow_control) : `held ${figures.held}, shed ${figures.shed}`} (${summary.wall_s} s wall)`,
      );
  }
  let sweep: Row[] | null = null;
  if (options.sweep && !isReplayFile(workload)) {
    sweep = [];
    for (const n of sweepSizes(options.sessions)) {
      const sweepPlans = generatePlans(workload, n, options.rate, options.seed, options.largeRoles);
      for (const spec of options.policies) {
        if (bar) bar.label = `${workload} sweep ${n}`;
        const { summary } = runPolicy(spec, sweepPlans, setup, bar?.update);
        sweep.push(sweepPoint(n, formatPolicySpec(spec), summary));
      }
    }
    for (const { spec, summary } of runs)
      sweep.push(sweepPoint(options.sessions, formatPolicySpec(spec), summary));
  }
  return { rows: withComparisons(runs), jct, replicas, sweep };
}
