import { simpleScorer } from '../plugin.js';

/**
 * Share of the prompt's leading blocks the endpoint is believed to hold (prefix index). It
 * needs the prompt's block hashes, which the router computes only for profiles that ask.
 */
export const prefixAffinityScorer = simpleScorer(
  'prefix-affinity-scorer',
  (request, candidates, ctx) => {
    if (request.prefixHashes.length === 0) return candidates.map(() => 0);
    const matches = ctx.prefixIndex.matchLengths(
      request.prefixHashes,
      candidates.map((c) => c.endpoint.address),
      ctx.nowMs(),
    );
    return candidates.map((c) => (matches.get(c.endpoint.address) ?? 0) / request.prefixHashes.length);
  },
  { prefixHashes: true },
);
