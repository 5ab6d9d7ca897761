// The configuration the simulated cluster runs the services' code with: the caller's, with
// what the simulated hardware decides rather than the operator. Each configured pool's
// endpoints are its simulated replicas (KV capacity and speed from the replica profile, the
// engines' priority scheduling written into requests when they use it, retention hints
// taken as Dynamo's nvext.session_control would be); under
// autoscaling a pool has at most its simulated replicas and loads its model in the profile's
// time. A replica that is not ready is out of the endpoints at once (an orchestrator's
// readiness check), which the scraper's health rule reads as one failed scrape being enough.
import { type PythiaConfig, autoscalerPoolSettings } from '../../../common/src/config/schema.js';
import type { ReplicaFleet, SimPool } from './replica-fleet.js';
import { relativeDecodeSpeed } from './profiles.js';

export function simulatedConfig(
  config: PythiaConfig,
  pools: readonly SimPool[],
  fleet: ReplicaFleet,
  priorityField: boolean,
): PythiaConfig {
  const autoscalerPools = { ...config.autoscaler.pools };
  for (const pool of pools) {
    autoscalerPools[pool.name] = {
      ...autoscalerPoolSettings(config.autoscaler, pool.name),
      max_replicas: pool.replicas,
      model_load_s: pool.profile.modelLoadS,
    };
  }
  return {
    ...config,
    pools: pools.map((pool) => {
      const configured = config.pools.find((p) => p.name === pool.name);
      if (!configured) throw new Error(`simulated pool ${pool.name} is not in the configuration`);
      return {
        ...configured,
        models: [...pool.models],
        endpoints: fleet.ofPool(pool.name).map((r) => ({ address: r.address })),
        kv_capacity_tokens: pool.profile.kvCapacityTokens,
        speed: relativeDecodeSpeed(pool.profile),
        priority_field: priorityField,
        // The simulated engines keep a session's KV when asked (as Dynamo's session_control).
        session_control_field: true,
      };
    }),
    scheduler: { ...config.scheduler, unhealthy_after_failures: 1 },
    autoscaler: { ...config.autoscaler, pools: autoscalerPools },
  };
}
