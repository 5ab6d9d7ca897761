import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import { simpleScorer } from '../plugin.js';

/**
 * Fewer in-flight tokens (prompt plus expected output of what this gateway and its peers have
 * routed there) scores higher: 1 for the least loaded, 0 for the most, linear between. The
 * llm-d router's "least token load" (its token-load scorer), used behind its prefix gate.
 */
export const tokenLoadScorer = simpleScorer('token-load-scorer', (_request, candidates) => {
  const load = candidates.map((c) => totalLoad(c.endpoint).reservedTokens / c.endpoint.speed);
  const min = Math.min(...load);
  const max = Math.max(...load);
  return load.map((l) => (max === min ? 1 : (max - l) / (max - min)));
});
