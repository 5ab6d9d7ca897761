// Each policy's share of the gain the oracle bound shows over round-robin, (round-robin -
// policy) / (round-robin - oracle) per JCT mean and p95: one definition for the load sweep's
// report (per workload and load) and the burst's (per workload).
import type { PolicySummary } from './summary.js';

export interface GainShare {
  readonly jct_mean: number | null;
  readonly jct_p95: number | null;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Null without every figure, or where the oracle is no better than round-robin (no gain to share). */
export function gainShare(rr: number | null, policy: number | null, oracle: number | null): number | null {
  if (rr === null || policy === null || oracle === null || rr - oracle <= 0) return null;
  return r3((rr - policy) / (rr - oracle));
}

/** Every row's share, against the rows' `round-robin` and the oracle's run. */
export function oracleGainShares(
  rows: Readonly<Record<string, PolicySummary>>,
  oracle: PolicySummary | undefined,
): Record<string, GainShare> {
  const rr = rows['round-robin'];
  const shares: Record<string, GainShare> = {};
  for (const [policy, s] of Object.entries(rows))
    shares[policy] = {
      jct_mean: gainShare(rr?.jct_mean_s ?? null, s.jct_mean_s, oracle?.jct_mean_s ?? null),
      jct_p95: gainShare(rr?.jct_p95_s ?? null, s.jct_p95_s, oracle?.jct_p95_s ?? null),
    };
  return shares;
}
