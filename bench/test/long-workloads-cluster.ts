// The simulated cluster the long-context workload tests share: two replicas with little KV, so
// that long sessions evict each other. Each full run of six coding-long sessions costs about
// 3.3 s of CPU; the tests are spread over files so that none needs more than about 16 s of
// CPU within the test runner's 180 s per file (a slowdown of 11x from a loaded machine).
import { parseConfig } from '../../common/src/config/load.js';
import { type ClusterRunOptions, type ClusterRunResult, runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { codingLongWorkload } from '../../test-support/src/workloads/long-agent-workloads.js';

/** 120k tokens of KV per replica: six ~50k-token coding sessions on two replicas evict each other. */
export const TIGHT = { ...H100_LLAMA_8B, kvCapacityTokens: 120_000 };

/** Six coding-long sessions (fewer do not evict each other enough for retention to show). */
export const codingLongPlans = () => codingLongWorkload({ sessions: 6, ratePerS: 0.5, seed: 2 });

/** A least-request cluster of two tight replicas, with the engine extras of `extra`. */
export function runLong(extra: Partial<ClusterRunOptions>, plans = codingLongPlans()): ClusterRunResult {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    scheduler: {
      profile: 'least-request',
      reactive_profile: 'least-request',
      shadow_profile: 'least-request',
      scrape_interval_ms: 1000,
    },
  });
  return runCluster({
    config,
    pools: [{ name: 'llama', models: ['llama'], replicas: 2, profile: TIGHT }],
    priorityScheduling: false,
    learn: false,
    plans,
    seed: 1,
    ...extra,
  });
}
