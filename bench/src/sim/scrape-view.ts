// The scraper's view of the simulated replicas, as the real one reads their /metrics into
// the gateway's cluster state: load figures, and health by the same rule (a replica that is
// not ready fails its scrape).
import { afterProbe } from '../../../core/src/cluster/endpoint-health.js';
import type { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import type { ReplicaFleet } from './replica-fleet.js';

/** A function that scrapes every replica once. */
export function scrapeView(
  fleet: ReplicaFleet,
  cluster: ClusterState,
  unhealthyAfter: number,
  now: () => number,
): () => void {
  return () => {
    for (const r of fleet.replicas) {
      const ep = cluster.endpoint(r.address);
      if (!ep) continue;
      ep.waiting = r.engine.numWaiting;
      ep.running = r.engine.numRunning;
      // Retention pins past their time are released before usage is read (as the engine would).
      r.engine.expire(now());
      ep.kvUsage = r.engine.kvUsage;
      const health = afterProbe(ep, r.state === 'ready', unhealthyAfter);
      ep.healthy = health.healthy;
      ep.failures = health.failures;
    }
  };
}
