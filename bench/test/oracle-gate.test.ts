// The load sweep's oracle bound: held while every replica is saturated, released shortest
// remaining session first, to the replica holding the prompt's prefix when both are free; and
// `oracle` as a policy of both benches, with each policy's share of its gain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OracleGate, type HeldRequest } from '../src/sim/oracle-gate.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import type { ReplicaFleet } from '../src/sim/replica-fleet.js';
import { generatePlans } from '../src/runner/plans.js';
import { PolicySpecError, formatPolicySpec, parsePolicySpec } from '../src/runner/policy-spec.js';
import { withComparisons } from '../src/runner/comparisons.js';
import { burstGainShares } from '../src/runner/report.js';
import { gainShareLine } from '../src/runner/report-markdown.js';
import type { PolicySummary } from '../src/runner/summary.js';
import { runPolicy } from '../src/runner/run-policy.js';
import { simPoolsFor } from '../src/runner/sim-pools.js';

function replica(address: string, cachedBlocks: number) {
  const engine = {
    numWaiting: 0,
    numRunning: 0,
    kvUsage: 0,
    remainingDecodeTokens: 0,
    profile: H100_LLAMA_8B,
    cachedPrefixBlocks: (blocks: readonly number[]) => Math.min(cachedBlocks, blocks.length),
  };
  return { address, pool: 'llama', state: 'ready', engine };
}

test('holds while saturated, then releases shortest remaining work first to the best replica', () => {
  const warm = replica('warm', 200);
  const cold = replica('cold', 0);
  for (const r of [warm, cold]) r.engine.numWaiting = 1;
  const fleet = { ofPool: () => [warm, cold] } as unknown as ReplicaFleet;
  const gate = new OracleGate(fleet);
  const sent: string[] = [];
  const held = (name: string, remainingWork: number): HeldRequest => ({
    pool: 'llama',
    remainingWork,
    promptBlocks: Array.from({ length: 200 }, (_, i) => i),
    promptTokens: 3200,
    outputTokens: 100,
    dispatch: (r) => {
      sent.push(`${name}->${r.address}`);
      (r.engine as unknown as { numWaiting: number }).numWaiting++; // a dispatched request waits for the engine's next step
    },
  });
  gate.submit(held('long', 5000));
  gate.submit(held('short', 300));
  assert.deepEqual(sent, [], 'every replica saturated: held');
  assert.equal(gate.heldTotal, 2);
  warm.engine.numWaiting = 0;
  gate.release();
  assert.deepEqual(sent, ['short->warm'], 'the shortest session first, to the replica holding its prefix');
  cold.engine.numWaiting = 0;
  gate.release();
  assert.deepEqual(sent, ['short->warm', 'long->cold']);
});

test('an oracle run on the simulated cluster completes every session, engines by priority', () => {
  const plans = generatePlans('coding', 8, 2, 7, [], 1);
  const setup = {
    simPools: simPoolsFor({ replicas: 2, largeRoles: [], largeReplicas: 0 }),
    replicas: 2,
    seed: 7,
  };
  // The same spec the bench's and the load sweep's `--policies oracle` run.
  const oracle = runPolicy(parsePolicySpec('oracle'), plans, setup);
  const rr = runPolicy(parsePolicySpec('round-robin'), plans, setup);
  assert.equal(oracle.summary.sessions_completed, 8);
  const tokens = (t: ReadonlyArray<readonly [number, number]>) => t.reduce((a, [, n]) => a + n, 0);
  assert.equal(tokens(oracle.outputTimeline), tokens(rr.outputTimeline), 'the same work, placed differently');
  // Wall time aside (it differs between any two runs): the oracle placed and ordered the work.
  const figures = (s: PolicySummary) => ({ ...s, wall_s: null });
  assert.notDeepEqual(figures(oracle.summary), figures(rr.summary));
});

test('oracle is a policy label of its own: no levers, flow control or scaling', () => {
  const spec = parsePolicySpec('oracle');
  assert.equal(spec.oracle, true);
  assert.equal(formatPolicySpec(spec), 'oracle');
  assert.equal(parsePolicySpec('round-robin').oracle, undefined);
  assert.throws(() => parsePolicySpec('oracle+autoscaler'), PolicySpecError);
});

const row = (mean: number, p95: number) => ({ jct_mean_s: mean, jct_p95_s: p95 }) as PolicySummary;

test("the burst report: each policy's share of the oracle's gain, the oracle no baseline of pythia", () => {
  const spec = (label: string) => parsePolicySpec(label);
  const rows = withComparisons([
    { spec: spec('round-robin'), summary: row(300, 400) },
    { spec: spec('least-request'), summary: row(290, 410) },
    { spec: spec('pythia'), summary: row(260, 380) },
    { spec: spec('oracle'), summary: row(200, 300) },
  ]);
  assert.deepEqual(Object.keys(rows['pythia']?.ratios_vs ?? {}), ['round-robin', 'least-request']);
  const shares = burstGainShares({ coding: rows, research: { 'round-robin': row(1, 1) } });
  assert.deepEqual(shares, {
    coding: {
      'round-robin': { jct_mean: 0, jct_p95: 0 },
      'least-request': { jct_mean: 0.1, jct_p95: -0.1 },
      pythia: { jct_mean: 0.4, jct_p95: 0.2 },
    },
  });
  assert.equal(burstGainShares({ research: { 'round-robin': row(1, 1) } }), null, 'no oracle run: no shares');
  assert.match(
    gainShareLine(shares?.coding ?? {}),
    /pythia's share of the oracle's gain over round-robin: 40% mean JCT, 20% p95/,
  );
});
