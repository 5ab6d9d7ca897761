import { z } from 'zod';
import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import type { ScorerPlugin } from '../plugin.js';
import { prefixMatches } from '../prefix-matches.js';

const parameters = z.strictObject({
  /** Dynamo's `overlap_score_weight` (its default 1): weight of the blocks left to prefill. */
  overlap_weight: z.number().min(0).default(1),
  block_size: z.number().int().min(1).default(16),
});

/**
 * NVIDIA Dynamo's KV router cost, in blocks: overlap_weight x the prompt blocks the endpoint
 * does not hold (prefix index) + the blocks already active there (in-flight prompt plus
 * expected output, ours and our peers'); the cheapest scores 1, the dearest 0. Dynamo's
 * default temperature is 0 (the minimum cost wins, ties at random), which the max-score
 * picker does. Dynamo also counts prefill still pending on the endpoint, which the gateway
 * does not see (it is in the active blocks here).
 */
export const kvCostScorer: ScorerPlugin<z.output<typeof parameters>> = {
  type: 'kv-cost-scorer',
  kind: 'scorer',
  parameters,
  needs: { prefixHashes: true },
  create: ({ overlap_weight, block_size }) => ({
    name: 'kv-cost-scorer',
    score: (request, candidates, ctx) => {
      const matches = prefixMatches(request, candidates, ctx);
      const promptBlocks = Math.ceil(request.promptTokens / block_size);
      const costs = candidates.map((c) => {
        const prefill = Math.max(0, promptBlocks - (matches.get(c.endpoint.address) ?? 0));
        const decode = totalLoad(c.endpoint).reservedTokens / block_size;
        return overlap_weight * prefill + decode;
      });
      const min = Math.min(...costs);
      const max = Math.max(...costs);
      return costs.map((cost) => (max === min ? 1 : (max - cost) / (max - min)));
    },
  }),
};
