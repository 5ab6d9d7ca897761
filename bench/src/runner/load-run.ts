// One run of the load sweep: Poisson session arrivals at a rate for a duration (or a trace
// file as it is), under one policy or the oracle bound, on the runner's simulated cluster (the
// real gateway core). Sessions arriving during the warm-up, and during the cool-down tail
// (arrivals go on after the window so the last measured sessions still see the load), are
// run but not measured (named `warmup-*`, as the main bench's warm-up).
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { generatePlans, isReplayFile, plansFor } from './plans.js';
import { parsePolicySpec } from './policy-spec.js';
import { type ClusterSetup, runPolicy } from './run-policy.js';
import { simPoolsFor } from './sim-pools.js';
import type { PolicySummary } from './summary.js';
import type { LoadOptions } from './load-options.js';

export interface LoadTask {
  readonly workload: string;
  /** `oracle` or a policy spec of the main bench. */
  readonly policy: string;
  /** Sessions per second (ignored for a trace file). */
  readonly rate: number;
  /** Arrivals measured in [warmupS, durationS); arrivals go on until durationS + tailS. */
  readonly durationS: number;
  readonly warmupS: number;
  readonly tailS: number;
  readonly seed: number;
  readonly replicas: number;
  /** ext-proc replicas (gateway cores fed round-robin) and their events' delay, virtual ms. */
  readonly extProcReplicas: number;
  readonly replicaDelayMs: number;
}

export interface LoadRunResult {
  readonly summary: PolicySummary;
  /** Output tokens per second completed within [warmupS, durationS) (the steady window). */
  readonly windowOutputTokensPerS: number;
  /** Output tokens per session the arrivals offered (mean over the generated sessions). */
  readonly outputTokensPerSession: number;
  /** Requests each ext-proc replica (gateway core) was handed. */
  readonly requestsPerExtProc: readonly number[];
}

/**
 * A workload's runs: every policy (and the oracle, when listed) at every rate, on the
 * options' cluster and ext-proc replicas.
 */
export function loadTasks(
  options: Pick<LoadOptions, 'seed' | 'replicas' | 'extProcReplicas' | 'replicaDelayMs'>,
  run: Pick<LoadTask, 'workload' | 'durationS' | 'warmupS' | 'tailS'>,
  rates: readonly number[],
  policies: readonly string[],
): LoadTask[] {
  const { seed, replicas, extProcReplicas, replicaDelayMs } = options;
  return rates.flatMap((rate) =>
    policies.map((policy) => ({ ...run, seed, replicas, extProcReplicas, replicaDelayMs, rate, policy })),
  );
}

const sessionOutputTokens = (p: SessionPlan) => p.steps.reduce((a, s) => a + s.outputTokens, 0);

/** The sessions of a load run: Poisson (no bursts) at `rate`, named warmup-* outside the window. */
export function loadPlans(
  t: Pick<LoadTask, 'workload' | 'rate' | 'durationS' | 'warmupS' | 'tailS' | 'seed'>,
): SessionPlan[] {
  if (isReplayFile(t.workload))
    return plansFor(
      t.workload,
      { sessions: 0, rate: 0, warmup: 0, waves: 1, waveGapS: 0, seed: t.seed, largeRoles: [] },
      (m) => process.stderr.write(`${m}\n`),
    );
  const end = t.durationS + t.tailS;
  // Enough sessions for the span with a margin; the ones arriving after it are dropped.
  const count = Math.ceil(t.rate * end * 1.3 + 10);
  return generatePlans(t.workload, count, t.rate, t.seed, [], 1)
    .filter((p) => p.arrivalS < end)
    .map((p) =>
      p.arrivalS >= t.warmupS && p.arrivalS < t.durationS ? p : { ...p, session: `warmup-${p.session}` },
    );
}

/** Output tokens per second completed within [fromS, toS). */
export function windowThroughput(
  timeline: ReadonlyArray<readonly [number, number]>,
  fromS: number,
  toS: number,
): number {
  let tokens = 0;
  for (const [ms, n] of timeline) if (ms >= fromS * 1000 && ms < toS * 1000) tokens += n;
  return toS > fromS ? tokens / (toS - fromS) : 0;
}

export function runLoadTask(task: LoadTask): LoadRunResult {
  const plans = loadPlans(task);
  const setup: ClusterSetup = {
    simPools: simPoolsFor({ replicas: task.replicas, largeRoles: [], largeReplicas: 0 }),
    replicas: task.replicas,
    seed: task.seed,
    extras: {
      extProcReplicas: { count: task.extProcReplicas, delayMs: task.replicaDelayMs },
    },
  };
  const run = runPolicy(parsePolicySpec(task.policy), plans, setup);
  const replay = isReplayFile(task.workload);
  return {
    summary: run.summary,
    windowOutputTokensPerS: replay
      ? (run.summary.output_tokens_per_s ?? 0)
      : windowThroughput(run.outputTimeline, task.warmupS, task.durationS),
    outputTokensPerSession: plans.reduce((a, p) => a + sessionOutputTokens(p), 0) / Math.max(1, plans.length),
    requestsPerExtProc: run.figures.requestsPerExtProc,
  };
}
