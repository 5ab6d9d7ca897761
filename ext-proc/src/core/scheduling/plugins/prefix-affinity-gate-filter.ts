import { z } from 'zod';
import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import type { FilterPlugin } from '../plugin.js';
import { prefixMatches } from '../prefix-matches.js';

const parameters = z.strictObject({
  /** Sticky while the target's token load, this request's uncached prefill included, is within this share of its KV. */
  threshold: z.number().gt(0).default(0.8),
});

/**
 * The llm-d router's default in 2026, "sticky until saturated": keep only the endpoints that
 * hold the longest cached prefix of the prompt (prefix index) while their token load (what
 * is in flight there, prompt plus expected output, plus the prompt tokens they would have to
 * prefill for this request) stays within `threshold` of their KV capacity; once every such
 * target is past it, or none holds any of the prompt, all candidates pass (then least token
 * load decides). llm-d gates on uncached prefill time (peak prefill throughput x max TTFT
 * penalty); the gateway here sees tokens, not prefill progress, so the gate is in tokens.
 */
export const prefixAffinityGateFilter: FilterPlugin<z.output<typeof parameters>> = {
  type: 'prefix-affinity-gate-filter',
  kind: 'filter',
  parameters,
  needs: { prefixHashes: true },
  create: ({ threshold }) => ({
    name: 'prefix-affinity-gate-filter',
    filter: (request, candidates, ctx) => {
      const hashes = request.prefixHashes;
      if (hashes.length === 0 || candidates.length <= 1) return [...candidates];
      const matches = prefixMatches(request, candidates, ctx);
      const best = Math.max(0, ...candidates.map((c) => matches.get(c.endpoint.address) ?? 0));
      if (best === 0) return [...candidates];
      const uncached = request.promptTokens * (1 - best / hashes.length);
      const sticky = candidates.filter(
        (c) =>
          (matches.get(c.endpoint.address) ?? 0) === best &&
          (totalLoad(c.endpoint).reservedTokens + uncached) / c.endpoint.kvCapacityTokens <= threshold,
      );
      return sticky.length > 0 ? sticky : [...candidates];
    },
  }),
};
