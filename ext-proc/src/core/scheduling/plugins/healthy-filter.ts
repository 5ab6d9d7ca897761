import type { Candidate, Filter } from '../types.js';

/** Drops endpoints marked unhealthy (failed scrapes or connect errors). */
export const healthyFilter: Filter = {
  name: 'healthy',
  filter: (_request, candidates) => candidates.filter((c: Candidate) => c.endpoint.healthy),
};
