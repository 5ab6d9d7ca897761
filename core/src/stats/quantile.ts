// The one quantile the benches report: the value at rank floor(q * n) of the sorted sample
// (p50 of [1,2,3,4] is 3). Reports compare against earlier runs, so this definition stays.

/** `q` in [0,1] of values already sorted ascending; NaN when there are none. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))] as number;
}

/** `q` in [0,1] of unsorted values (left as they are); NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    q,
  );
}
