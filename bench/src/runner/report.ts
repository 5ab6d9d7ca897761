// The bench report (report.json): the run's configuration and, per workload, each policy's
// summary keyed by its label, in the order the policies ran.
import type { SimPool } from '../sim/cluster.js';
import { H100_LLAMA_8B } from '../sim/profiles.js';
import type { RunnerOptions } from './options.js';
import { formatPolicySpec } from './policy-spec.js';
import type { PolicySummary } from './summary.js';

export interface ReportConfiguration {
  readonly replicas: number;
  readonly sessions: number;
  readonly rate: number;
  readonly warmup: number;
  /** The 8B pool's replica profile. */
  readonly profile: string;
  readonly workloads: readonly string[];
  readonly policies: readonly string[];
  readonly sweep: boolean;
  readonly waves: number;
  readonly wave_gap_s: number;
  readonly large_roles: readonly string[];
  readonly pools: ReadonlyArray<{
    readonly name: string;
    readonly replicas: number;
    readonly profile: string;
  }>;
}

/** Workload, then policy label. */
export type ReportResults = Readonly<Record<string, Readonly<Record<string, PolicySummary>>>>;

export interface BenchReport {
  readonly seed: number;
  /** Short git commit of the code that ran. */
  readonly commit: string;
  readonly configuration: ReportConfiguration;
  readonly results: ReportResults;
}

export function benchReport(
  options: RunnerOptions,
  simPools: readonly SimPool[],
  commit: string,
  results: ReportResults,
): BenchReport {
  return {
    seed: options.seed,
    commit,
    configuration: {
      replicas: options.replicas,
      sessions: options.sessions,
      rate: options.rate,
      warmup: options.warmup,
      profile: H100_LLAMA_8B.name,
      workloads: options.workloads,
      policies: options.policies.map(formatPolicySpec),
      sweep: options.sweep,
      waves: options.waves,
      wave_gap_s: options.waveGapS,
      large_roles: options.largeRoles,
      pools: simPools.map((p) => ({ name: p.name, replicas: p.replicas, profile: p.profile.name })),
    },
    results,
  };
}
