import { simpleScorer } from '../plugin.js';

/**
 * Fewer outstanding requests from this gateway scores higher: 1 for the least loaded
 * candidate, 0 for the most loaded, linear between (all 1 when equal).
 */
export const leastRequestScorer = simpleScorer('least-request-scorer', (_request, candidates) => {
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const c of candidates) {
    min = Math.min(min, c.endpoint.inFlight);
    max = Math.max(max, c.endpoint.inFlight);
  }
  const span = max - min;
  return candidates.map((c) => (span === 0 ? 1 : (max - c.endpoint.inFlight) / span));
});
