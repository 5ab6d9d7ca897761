import { simplePicker } from '../plugin.js';

/**
 * Highest totals first, by a linear scan keeping the best `count` (no sort: decisions over
 * a thousand endpoints stay cheap). Exact ties are broken at random, so equal endpoints
 * share load instead of the first-listed one taking it all.
 */
export const maxScorePicker = simplePicker('max-score-picker', (totals, count, ctx) => {
  const best: Array<{ index: number; key: number }> = [];
  for (let i = 0; i < totals.length; i++) {
    // A jitter far below any real score difference orders exact ties randomly.
    const key = (totals[i] ?? 0) + ctx.random() * 1e-9;
    if (best.length === count && key <= (best[best.length - 1]?.key ?? Number.NEGATIVE_INFINITY)) continue;
    let at = best.length;
    while (at > 0 && (best[at - 1]?.key ?? 0) < key) at--;
    best.splice(at, 0, { index: i, key });
    if (best.length > count) best.pop();
  }
  return best.map((b) => b.index);
});
