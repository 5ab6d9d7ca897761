import type { Scorer } from '../types.js';

/** Share of the prompt's leading blocks the endpoint is believed to hold (prefix index). */
export const prefixAffinityScorer: Scorer = {
  name: 'prefix-affinity',
  score: (request, candidates, ctx) => {
    if (request.prefixHashes.length === 0) return candidates.map(() => 0);
    const matches = ctx.prefixIndex.matchLengths(
      request.prefixHashes,
      candidates.map((c) => c.endpoint.address),
      ctx.nowMs(),
    );
    return candidates.map((c) => (matches.get(c.endpoint.address) ?? 0) / request.prefixHashes.length);
  },
};
