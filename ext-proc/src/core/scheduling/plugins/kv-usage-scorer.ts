import { simpleScorer } from '../plugin.js';

/** Lower reported KV-cache usage scores higher (the EPP's KV utilisation scorer). */
export const kvUsageScorer = simpleScorer('kv-usage-scorer', (_request, candidates) =>
  candidates.map((c) => Math.min(1, Math.max(0, 1 - c.endpoint.kvUsage))),
);
