// Pythia's retention lever on the long-context workload: the workflow is learned and promoted
// during the run, and its predictions decide which sessions keep their KV. Two runs of 14
// sessions with learning, about 16 s of CPU: a file of its own (long-workloads-cluster.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { runCluster } from '../src/sim/cluster.js';
import { codingLongWorkload } from '../../test-support/src/workloads/long-agent-workloads.js';
import { TIGHT } from './long-workloads-cluster.js';

test("pythia's retention hint reaches the engines: with the lever on, sessions the model predicts to go on find their KV kept", () => {
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
  // The hint's effect, not its worth: whether keeping KV pays depends on placement (here, since
  // the cost model counts a prefill's stall once per session, the lever off keeps as much
  // context without pins: 6.84M cached tokens against 6.16M with them, seed 2); its worth is
  // measured by the bench (docs/bench.md, "Retention and sibling prefixes").
  assert.equal(off.retainedTokens, 0, 'without the lever nothing is pinned');
  assert.ok(on.retainedTokens > 0, `sessions reused pinned blocks: ${on.retainedTokens} tokens`);
  assert.ok(on.retainedTokens <= on.cachedTokens);
});
