// The long-context workloads on the simulated cluster, with the engine extras passed through
// runCluster the same way for any policy: a host KV tier and a session retention hint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { type ClusterRunOptions, type RetentionQuery, runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import {
  codingLongWorkload,
  researchLongWorkload,
} from '../../test-support/src/workloads/long-agent-workloads.js';

/** 120k tokens of KV per replica: six ~50k-token coding sessions on two replicas evict each other. */
const TIGHT = { ...H100_LLAMA_8B, kvCapacityTokens: 120_000 };

function run(
  extra: Partial<ClusterRunOptions>,
  plans = codingLongWorkload({ sessions: 6, ratePerS: 0.5, seed: 2 }),
) {
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

test('coding-long on the cluster: a host tier turns evictions into loads; retention keeps sessions resident', () => {
  const plain = run({});
  assert.equal(plain.sessionsCompleted, 6);
  assert.equal(plain.hostTokens, 0);
  assert.ok(plain.requestPromptTokens / plain.requests > 20_000, 'long prompts');
  assert.ok(plain.prefillGpuSeconds > 0 && plain.prefillGpuSeconds < plain.busyGpuSeconds);

  const tiered = run({ engine: { hostKvCapacityTokens: 2_000_000 } });
  assert.equal(tiered.sessionsCompleted, 6);
  assert.ok(tiered.hostTokens > 0, 'evicted context came back from host memory');
  assert.ok(tiered.cachedTokens > plain.cachedTokens);
  assert.ok(tiered.prefillGpuSeconds < plain.prefillGpuSeconds, 'less prefill to compute');

  const queries: RetentionQuery[] = [];
  const retained = run({
    retention: (q) => {
      queries.push(q);
      return {
        key: q.thread === null ? q.session : `${q.session}/${q.thread}`,
        ttlMs: q.lastOfContext ? 0 : 30_000,
      };
    },
  });
  assert.equal(retained.sessionsCompleted, 6);
  assert.equal(queries.length, retained.requests, 'every request was asked about');
  assert.ok(queries.some((q) => q.lastOfContext) && queries.some((q) => !q.lastOfContext));
  assert.ok(retained.cachedTokens > plain.cachedTokens, 'pinned sessions were not evicted by the others');

  // Same inputs, same figures.
  assert.deepEqual(run({ engine: { hostKvCapacityTokens: 2_000_000 } }).jctS, tiered.jctS);
});

test('research-long on the cluster: searcher threads and the writer run; prompts match the plans', () => {
  const plans = researchLongWorkload({ sessions: 4, ratePerS: 0.5, seed: 2 });
  const r = run({}, plans);
  assert.equal(r.sessionsCompleted, 4);
  assert.equal(
    r.requests,
    plans.reduce((a, p) => a + p.steps.length, 0),
  );
  assert.ok(r.requestPromptTokens / r.requests > 10_000);
});

test("pythia's retention hint reaches the engines: with the lever on, sessions the model predicts to go on keep their KV", () => {
  const plans = codingLongWorkload({ sessions: 14, ratePerS: 0.5, seed: 2 });
  const pythia = (retention: boolean) =>
    runCluster({
      config: parseConfig({
        pools: [{ name: 'llama', models: ['llama'] }],
        scheduler: { profile: 'pythia', scrape_interval_ms: 1000, levers: { retention } },
        // Promoted after a few sessions, so that most of the run is proactive.
        profiler: { end_grace_s: 0, promotion: { min_sessions: 3, min_scored: 3 } },
      }),
      pools: [{ name: 'llama', models: ['llama'], replicas: 2, profile: TIGHT }],
      priorityScheduling: false,
      learn: true,
      plans,
      seed: 1,
    });
  const off = pythia(false);
  const on = pythia(true);
  assert.ok(on.promotedAtS !== null, 'the workflow was promoted');
  assert.equal(on.sessionsCompleted, 14);
  assert.ok(
    on.cachedTokens > off.cachedTokens,
    `retained sessions hit more of their context: ${on.cachedTokens} > ${off.cachedTokens}`,
  );
});
