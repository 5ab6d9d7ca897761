import { simpleScorer } from '../plugin.js';
import { prefixMatches } from '../prefix-matches.js';

/**
 * Share of the prompt's leading blocks the endpoint is believed to hold (prefix index). It
 * needs the prompt's block hashes, which the router computes only for profiles that ask.
 */
export const prefixAffinityScorer = simpleScorer(
  'prefix-affinity-scorer',
  (request, candidates, ctx) => {
    if (request.prefixHashes.length === 0) return candidates.map(() => 0);
    const matches = prefixMatches(request, candidates, ctx);
    return candidates.map((c) => (matches.get(c.endpoint.address) ?? 0) / request.prefixHashes.length);
  },
  { prefixHashes: true },
);
