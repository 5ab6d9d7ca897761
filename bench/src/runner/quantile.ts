// The one quantile the bench reports use (swap for core/src/stats/quantile.ts when it lands).

/** The value at rank floor(q * n) of the sorted values (NaN when empty). */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}
