import { simpleScorer } from '../plugin.js';

/** Fewer requests waiting at the server (scraped) scores higher, min-max over the candidates. */
export const queueScorer = simpleScorer('queue-scorer', (_request, candidates) => {
  let max = 0;
  for (const c of candidates) max = Math.max(max, c.endpoint.waiting);
  return candidates.map((c) => (max === 0 ? 1 : 1 - c.endpoint.waiting / max));
});
