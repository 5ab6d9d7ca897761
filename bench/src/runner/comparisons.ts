// Cross-policy figures added to a workload's summaries once all its policies have run: each
// forecast-autoscaled policy against the reactive frontier with the same routing, and pythia's
// ratios against each baseline.
import { compareToFrontier } from './frontier.js';
import { type PolicySpec, formatPolicySpec, routingLabel } from './policy-spec.js';
import { type BaselineRatios, type FrontierSummary, type PolicySummary, round } from './summary.js';

export interface PolicyResult {
  readonly spec: PolicySpec;
  readonly summary: PolicySummary;
}

// A missing (null) figure counts as 0 (as the report always computed it).
const orZero = (v: number | null): number => v ?? 0;

/**
 * The forecast-autoscaled `candidate` against the reactive scaler with the same routing at the
 * scale-down windows measured in this run (`<routing>+reactive-autoscaler[:S]`): GPU-seconds
 * saved at equal p95 and p95 gained at equal GPU-seconds, on the reactive frontier. Null when
 * no such reactive run was measured.
 */
export function frontierSummary(
  candidate: PolicyResult,
  all: readonly PolicyResult[],
): FrontierSummary | null {
  const routing = routingLabel(candidate.spec);
  const family = all
    .filter((r) => r.spec.scaling.mode === 'reactive' && routingLabel(r.spec) === routing)
    .map((r) => ({
      label: formatPolicySpec(r.spec),
      gpuSeconds: orZero(r.summary.gpu_seconds),
      p95S: orZero(r.summary.jct_p95_s),
    }));
  if (family.length === 0) return null;
  const c = compareToFrontier(
    {
      label: formatPolicySpec(candidate.spec),
      gpuSeconds: orZero(candidate.summary.gpu_seconds),
      p95S: orZero(candidate.summary.jct_p95_s),
    },
    family,
  );
  return {
    gpu_saving_at_equal_p95: round(c.gpuSavingAtEqualP95),
    gpu_saving_lower_bound: round(c.gpuSavingLowerBound),
    p95_ratio_at_equal_gpu: round(c.p95RatioAtEqualGpu, 2),
    p95_ratio_lower_bound: round(c.p95RatioLowerBound, 2),
    frontier: c.frontier.map((p) => p.label),
  };
}

/** A baseline's mean and p95 JCT over pythia's, and pythia's throughput over the baseline's. */
export function ratiosVs(pythia: PolicySummary, baseline: PolicySummary): BaselineRatios {
  // A missing figure reads as 0 on top and 1 below (as the report always computed it).
  return {
    jct_mean: round(orZero(baseline.jct_mean_s) / (pythia.jct_mean_s ?? 1), 2),
    jct_p95: round(orZero(baseline.jct_p95_s) / (pythia.jct_p95_s ?? 1), 2),
    output_throughput: round(orZero(pythia.output_tokens_per_s) / (baseline.output_tokens_per_s ?? 1), 2),
  };
}

/**
 * A workload's summaries keyed by policy label, in run order, with the frontier comparison on
 * each forecast-autoscaled policy and, on `pythia` (all levers, fixed replicas), the ratios
 * against every baseline (every policy not routed by pythia, the oracle bound aside).
 */
export function withComparisons(results: readonly PolicyResult[]): Record<string, PolicySummary> {
  const rows: Record<string, PolicySummary> = {};
  for (const r of results) {
    const frontier = r.spec.scaling.mode === 'forecast' ? frontierSummary(r, results) : null;
    rows[formatPolicySpec(r.spec)] = frontier ? { ...r.summary, vs_reactive_frontier: frontier } : r.summary;
  }
  const pythia = rows['pythia'];
  if (pythia) {
    const ratios: Record<string, BaselineRatios> = {};
    // The oracle bound is a reference, not a baseline (its share of the gain is reported instead).
    for (const r of results.filter((x) => x.spec.routing !== 'pythia' && !x.spec.oracle))
      ratios[formatPolicySpec(r.spec)] = ratiosVs(pythia, r.summary);
    rows['pythia'] = { ...pythia, ratios_vs: ratios };
  }
  return rows;
}
