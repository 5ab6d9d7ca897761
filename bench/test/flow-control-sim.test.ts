// Flow control in the simulator runs the ext-proc core (the gateway core's flow gate): a run
// terminates even when no endpoint is ever unsaturated (held requests are shed at their TTL),
// and a run where the servers free up releases everything it held.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';

function run(flow: Record<string, unknown>) {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    scheduler: { profile: 'least-request', reactive_profile: 'least-request', flow_control: flow },
  });
  return runCluster({
    config,
    pools: [{ name: 'llama', models: ['llama'], replicas: 2, profile: H100_LLAMA_8B }],
    priorityScheduling: false,
    learn: false,
    plans: codingWorkload({ sessions: 12, ratePerS: 4, seed: 5 }),
    seed: 1,
  });
}

test('no endpoint ever frees up: every held request is shed at its TTL and the run ends', () => {
  // A KV threshold no running server stays under, and no fallback within the TTL.
  const r = run({
    enabled: true,
    queue_ttl_s: 5,
    prefer_hold_s: 600,
    saturation: { kv_usage: 0.000001, waiting_requests: 1 },
  });
  assert.equal(r.sessionsCompleted, 12);
  assert.ok(r.held > 0, `held ${r.held}`);
  assert.ok(r.shed > 0, `shed ${r.shed}`);
  // The shed ones were held too; only the released ones' waits are recorded.
  assert.equal(r.heldWaitsS.length, r.held - r.shed);
});

test('servers that free up: everything held is released, nothing shed', () => {
  const r = run({ enabled: true, policy: 'oldest-session-first', saturation: { kv_usage: 0.05 } });
  assert.equal(r.sessionsCompleted, 12);
  assert.ok(r.held > 0, `held ${r.held}`);
  assert.equal(r.shed, 0);
  // Every held request's wait, summing to the total.
  assert.equal(r.heldWaitsS.length, r.held);
  assert.ok(Math.abs(r.heldWaitsS.reduce((a, b) => a + b, 0) - r.heldWaitS) < 1e-6);
  assert.ok(r.heldWaitsS.every((w) => w >= 0));
});
