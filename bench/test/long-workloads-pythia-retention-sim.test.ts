// Pythia's retention lever on the long-context workload: the workflow is learned and promoted
// during the run, and its predictions decide which sessions keep their KV. Two runs of 14
// sessions with learning, about 16 s of CPU: a file of its own (long-workloads-cluster.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { runCluster } from '../src/sim/cluster.js';
import { codingLongWorkload } from '../../test-support/src/workloads/long-agent-workloads.js';
import { TIGHT } from './long-workloads-cluster.js';

test("pythia's retention hint reaches the engines: with the lever on, sessions the model predicts to go on keep their KV", () => {
  // 14 sessions: with fewer the workflow is promoted late or not at all, and nothing is retained.
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
