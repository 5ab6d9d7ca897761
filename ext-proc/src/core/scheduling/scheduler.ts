import { NoReadyEndpointError, UnknownModelError } from '../../../../core/src/errors.js';
import type { ClusterState, PoolState } from '../../../../core/src/cluster/cluster-state.js';
import { rankProfile, runProfile } from './run-profile.js';
import type {
  Candidate,
  Profile,
  SchedulingContext,
  SchedulingDecision,
  SchedulingRequest,
} from './types.js';
import type { Ranking } from '../flow-control/flow-controller.js';

export interface SchedulerOptions {
  /** Pool for models no pool lists; null answers unknown models with 404. */
  readonly defaultPool: string | null;
  /** Alternative endpoints listed after the primary, for Envoy's override_host fallbacks. */
  readonly fallbacks: number;
  readonly trace: boolean;
}

/** Chooses the pool and endpoint for one request from every pool that serves its model. */
export class Scheduler {
  constructor(
    private readonly cluster: ClusterState,
    private readonly profile: Profile,
    private readonly ctx: SchedulingContext,
    private readonly options: SchedulerOptions,
  ) {}

  candidatePools(model: string): readonly PoolState[] {
    const pools = this.cluster.poolsForModel(model);
    if (pools.length > 0) return pools;
    const fallback =
      this.options.defaultPool === null ? undefined : this.cluster.pool(this.options.defaultPool);
    if (!fallback) throw new UnknownModelError(model);
    return [fallback];
  }

  /**
   * Decides among every endpoint of the pools serving the model, or among `only` of them
   * (flow control releases a held request to the endpoints it found good and free).
   */
  decide(
    request: SchedulingRequest,
    profile: Profile = this.profile,
    only: ReadonlySet<string> | null = null,
  ): SchedulingDecision {
    const pools = this.candidatePools(request.model);
    const candidates: Candidate[] = [];
    for (const pool of pools)
      for (const endpoint of pool.endpoints)
        if (only === null || only.has(endpoint.address)) candidates.push({ endpoint });
    const result = runProfile(profile, request, candidates, this.ctx, {
      fallbacks: this.options.fallbacks,
      trace: this.options.trace,
    });
    const primary = result.chosen[0];
    if (!primary) throw new NoReadyEndpointError(pools.map((p) => p.name).join(','));
    // Fallbacks must be in the primary's pool: Envoy sends them to the same cluster.
    const fallbacks = result.chosen
      .slice(1)
      .filter((c) => c.endpoint.pool === primary.endpoint.pool)
      .map((c) => c.endpoint.address);
    return {
      pool: primary.endpoint.pool,
      endpoint: primary.endpoint.address,
      fallbacks,
      profile: profile.name,
      trace: result.trace,
    };
  }

  /** Every endpoint the profile's filters keep, with its summed score, best first (flow control). */
  rank(request: SchedulingRequest, profile: Profile = this.profile): Ranking {
    const candidates: Candidate[] = [];
    for (const pool of this.candidatePools(request.model))
      for (const endpoint of pool.endpoints) candidates.push({ endpoint });
    return rankProfile(profile, request, candidates, this.ctx);
  }
}
