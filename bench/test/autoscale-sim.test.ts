// Autoscaling in the simulated cluster: replicas start after the model load time and stop
// after draining; GPU-seconds count only the time they were on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';

test('a burst scales the pool up (after model load) and back down; GPU-seconds follow', () => {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    autoscaler: {
      pools: { llama: { requests_per_replica: 16, scale_down_delay_s: 20, forecast_scale_down_delay_s: 20 } },
    },
  });
  const plans = codingWorkload({ sessions: 120, ratePerS: 30, seed: 2, model: 'llama', burst: 4 });
  const r = runCluster({
    config,
    pools: [{ name: 'llama', models: ['llama'], replicas: 8, profile: { ...H100_LLAMA_8B, modelLoadS: 30 } }],
    priorityScheduling: false,
    learn: false,
    plans,
    seed: 1,
    autoscale: { mode: 'reactive', initialReplicas: 1 },
  });
  assert.equal(r.sessionsCompleted, 120);
  const counts = r.replicaTimeline.map((p) => p.replicas);
  assert.equal(counts[0], 1);
  assert.ok(Math.max(...counts) > 1, 'scaled up under the burst');
  assert.ok(counts.at(-1)! < Math.max(...counts), 'scaled back down as sessions finished');
  assert.ok(r.gpuSeconds < 8 * r.makespanS, `GPU-seconds ${r.gpuSeconds} below always-on ${8 * r.makespanS}`);
});
