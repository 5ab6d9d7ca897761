// The bench report (report.json): the run's configuration and, per workload, each policy's
// summary keyed by its label, in the order the policies ran, and with the oracle bound among
// them, each policy's share of its gain over round-robin.
import type { SimPool } from '../sim/cluster.js';
import { H100_LLAMA_8B } from '../sim/profiles.js';
import type { RunnerOptions } from './options.js';
import { type GainShare, oracleGainShares } from './oracle-share.js';
import { ORACLE, formatPolicySpec } from './policy-spec.js';
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
  /**
   * Per workload run with `oracle` and `round-robin`: each other policy's (round-robin - policy)
   * / (round-robin - oracle), JCT mean and p95 (as the load sweep's report).
   */
  readonly oracle_gain_share?: Readonly<Record<string, Readonly<Record<string, GainShare>>>>;
}

/** Each workload's shares of the oracle's gain, for the workloads that ran it and round-robin. */
export function burstGainShares(results: ReportResults): Record<string, Record<string, GainShare>> | null {
  const shares: Record<string, Record<string, GainShare>> = {};
  for (const [workload, rows] of Object.entries(results)) {
    const { [ORACLE]: oracle, ...policies } = rows;
    if (oracle && policies['round-robin']) shares[workload] = oracleGainShares(policies, oracle);
  }
  return Object.keys(shares).length > 0 ? shares : null;
}

export function benchReport(
  options: RunnerOptions,
  simPools: readonly SimPool[],
  commit: string,
  results: ReportResults,
): BenchReport {
  const shares = burstGainShares(results);
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
    ...(shares ? { oracle_gain_share: shares } : {}),
  };
}
