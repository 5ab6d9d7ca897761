import type { Scorer } from '../types.js';

/** Lower reported KV-cache usage scores higher (the EPP's KV utilisation scorer). */
export const kvUsageScorer: Scorer = {
  name: 'kv-usage',
  score: (_request, candidates) => candidates.map((c) => Math.min(1, Math.max(0, 1 - c.endpoint.kvUsage))),
};
