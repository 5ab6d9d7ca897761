import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import { simpleScorer } from '../plugin.js';

/**
 * Fewer predicted outstanding decode tokens (ours and other replicas'), scaled by the
 * endpoint's speed, scores higher: the time to drain what is already there.
 */
export const decodeLoadScorer = simpleScorer('decode-load-scorer', (_request, candidates) => {
  const drain = candidates.map((c) => totalLoad(c.endpoint).decodeTokens / c.endpoint.speed);
  const max = Math.max(0, ...drain);
  return drain.map((d) => (max === 0 ? 1 : 1 - d / max));
});
