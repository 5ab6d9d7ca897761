// Compares an autoscaler with a family of baseline settings (a reactive scaler at several
// scale-down windows) "at equal p95" and "at equal GPU-seconds": the baseline's cost/latency
// trade-off is the piecewise-linear Pareto frontier through its points, read at the
// candidate's p95 (GPU-seconds it would need) and at its GPU-seconds (the p95 it would get).
// Outside the baseline's measured range there is no extrapolation: the answer is null, or,
// when the candidate beats the range's end on both axes, a bound read at that end.

export interface CostPoint {
  readonly label: string;
  readonly gpuSeconds: number;
  readonly p95S: number;
}

export interface FrontierComparison {
  /** 1 - candidate GPU-s / baseline GPU-s at the candidate's p95 (null: out of range). */
  readonly gpuSavingAtEqualP95: number | null;
  /** Baseline p95 at the candidate's GPU-s / candidate p95 (null: out of range). */
  readonly p95RatioAtEqualGpu: number | null;
  /**
   * When the candidate is cheaper than every baseline setting and still has a lower p95 than
   * the cheapest: that setting's p95 / the candidate's, a lower bound of the equal-GPU ratio.
   */
  readonly p95RatioLowerBound: number | null;
  /**
   * When the candidate's p95 is lower than every baseline setting's at fewer GPU-s than the
   * best of them: 1 - its GPU-s / that setting's, a lower bound of the equal-p95 saving.
   */
  readonly gpuSavingLowerBound: number | null;
  /** The baseline points on the frontier, cheapest first. */
  readonly frontier: readonly CostPoint[];
}

/** Points no other point beats on both axes, by GPU-seconds ascending (p95 then descending). */
export function paretoFrontier(points: readonly CostPoint[]): CostPoint[] {
  const sorted = [...points].sort((a, b) => a.gpuSeconds - b.gpuSeconds || a.p95S - b.p95S);
  const out: CostPoint[] = [];
  for (const p of sorted) if (out.length === 0 || p.p95S < (out.at(-1) as CostPoint).p95S) out.push(p);
  return out;
}

function interpolate(x: number, x0: number, y0: number, x1: number, y1: number): number {
  return x1 === x0 ? Math.min(y0, y1) : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
}

/** GPU-seconds the frontier needs for `p95` (null outside its p95 range). */
export function gpuAtP95(frontier: readonly CostPoint[], p95: number): number | null {
  for (let i = 0; i + 1 < frontier.length; i++) {
    const a = frontier[i] as CostPoint;
    const b = frontier[i + 1] as CostPoint;
    if (p95 <= a.p95S && p95 >= b.p95S) return interpolate(p95, a.p95S, a.gpuSeconds, b.p95S, b.gpuSeconds);
  }
  const only = frontier.length === 1 ? frontier[0] : undefined;
  return only && only.p95S === p95 ? only.gpuSeconds : null;
}

/** p95 the frontier reaches with `gpu` GPU-seconds (null outside its GPU range). */
export function p95AtGpu(frontier: readonly CostPoint[], gpu: number): number | null {
  for (let i = 0; i + 1 < frontier.length; i++) {
    const a = frontier[i] as CostPoint;
    const b = frontier[i + 1] as CostPoint;
    if (gpu >= a.gpuSeconds && gpu <= b.gpuSeconds)
      return interpolate(gpu, a.gpuSeconds, a.p95S, b.gpuSeconds, b.p95S);
  }
  const only = frontier.length === 1 ? frontier[0] : undefined;
  return only && only.gpuSeconds === gpu ? only.p95S : null;
}

export function compareToFrontier(candidate: CostPoint, baseline: readonly CostPoint[]): FrontierComparison {
  const frontier = paretoFrontier(baseline);
  const gpu = gpuAtP95(frontier, candidate.p95S);
  const p95 = p95AtGpu(frontier, candidate.gpuSeconds);
  const cheapest = frontier[0];
  const best = frontier.at(-1);
  return {
    gpuSavingAtEqualP95: gpu === null || gpu <= 0 ? null : 1 - candidate.gpuSeconds / gpu,
    p95RatioAtEqualGpu: p95 === null ? null : p95 / candidate.p95S,
    p95RatioLowerBound:
      p95 === null && cheapest && candidate.gpuSeconds < cheapest.gpuSeconds && candidate.p95S < cheapest.p95S
        ? cheapest.p95S / candidate.p95S
        : null,
    gpuSavingLowerBound:
      gpu === null && best && candidate.p95S < best.p95S && candidate.gpuSeconds < best.gpuSeconds
        ? 1 - candidate.gpuSeconds / best.gpuSeconds
        : null,
    frontier,
  };
}
