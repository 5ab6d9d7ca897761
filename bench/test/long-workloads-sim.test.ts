// The long-context workloads on the simulated cluster, with the engine extras passed through
// runCluster the same way for any policy: a host KV tier here, the session retention hint in
// long-workloads-retention-sim.test.ts (files of their own: see long-workloads-cluster.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { researchLongWorkload } from '../../test-support/src/workloads/long-agent-workloads.js';
import { runLong } from './long-workloads-cluster.js';

test('coding-long on the cluster: a host tier turns evictions into loads, with the same figures every run', () => {
  const plain = runLong({});
  assert.equal(plain.sessionsCompleted, 6);
  assert.equal(plain.hostTokens, 0);
  assert.ok(plain.requestPromptTokens / plain.requests > 20_000, 'long prompts');
  assert.ok(plain.prefillGpuSeconds > 0 && plain.prefillGpuSeconds < plain.busyGpuSeconds);

  const tiered = runLong({ engine: { hostKvCapacityTokens: 2_000_000 } });
  assert.equal(tiered.sessionsCompleted, 6);
  assert.ok(tiered.hostTokens > 0, 'evicted context came back from host memory');
  assert.ok(tiered.cachedTokens > plain.cachedTokens);
  assert.ok(tiered.prefillGpuSeconds < plain.prefillGpuSeconds, 'less prefill to compute');

  // Same inputs, same figures.
  assert.deepEqual(runLong({ engine: { hostKvCapacityTokens: 2_000_000 } }).jctS, tiered.jctS);
});

test('research-long on the cluster: searcher threads and the writer run; prompts match the plans', () => {
  const plans = researchLongWorkload({ sessions: 4, ratePerS: 0.5, seed: 2 });
  const r = runLong({}, plans);
  assert.equal(r.sessionsCompleted, 4);
  assert.equal(
    r.requests,
    plans.reduce((a, p) => a + p.steps.length, 0),
  );
  assert.ok(r.requestPromptTokens / r.requests > 10_000);
});
