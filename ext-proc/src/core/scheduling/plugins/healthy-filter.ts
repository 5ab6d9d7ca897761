import type { Candidate } from '../types.js';
import { simpleFilter } from '../plugin.js';

/** Drops endpoints marked unhealthy (failed scrapes or connect errors). */
export const healthyFilter = simpleFilter('healthy-filter', (_request, candidates) =>
  candidates.filter((c: Candidate) => c.endpoint.healthy),
);
