import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import { simpleScorer } from '../plugin.js';

/**
 * Largest expected free KV after admission scores highest (the paper's placement rule):
 * capacity minus what is in use (the larger of the reserved footprints and the server's
 * reported usage) minus the new request's expected size, as a share of capacity.
 */
export const headroomScorer = simpleScorer('headroom-scorer', (request, candidates, ctx) => {
  const expected =
    request.promptTokens + (request.outputExpected ?? request.maxTokens ?? ctx.settings.defaultOutputTokens);
  return candidates.map((c) => {
    const cap = c.endpoint.kvCapacityTokens;
    const used = Math.max(totalLoad(c.endpoint).reservedTokens, c.endpoint.kvUsage * cap);
    return Math.min(1, Math.max(0, (cap - used - expected) / cap));
  });
});
