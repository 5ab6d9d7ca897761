import { totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import { type Candidate, requestFootprint } from '../types.js';
import { simpleFilter } from '../plugin.js';

/**
 * The paper's feasibility test: an endpoint can take the request if the footprints of
 * what runs there (prompt plus predicted p99 output bound, ours and other replicas')
 * plus the new one fit its KV capacity, and the summed probability that outputs outgrow
 * their bounds stays under the threshold. When no endpoint is feasible the candidates are
 * kept: this filter orders the choice, it never makes a request fail.
 */
export const kvFeasibilityFilter = simpleFilter('kv-feasibility-filter', (request, candidates, ctx) => {
  const need = requestFootprint(request, ctx.settings);
  const feasible = candidates.filter((c: Candidate) => {
    const load = totalLoad(c.endpoint);
    const used = Math.max(load.reservedTokens, c.endpoint.kvUsage * c.endpoint.kvCapacityTokens);
    return (
      used + need <= c.endpoint.kvCapacityTokens &&
      load.overflowSum + request.overflow <= ctx.settings.overflowThreshold
    );
  });
  return feasible.length > 0 ? feasible : [...candidates];
});
