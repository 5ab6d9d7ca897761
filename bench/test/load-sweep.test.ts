// The load sweep's pieces: capacity search, the sessions of a run, the ratios it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCapacity } from '../src/runner/load-capacity.js';
import { UsageError } from '../src/runner/cli.js';
import { parseLoadOptions } from '../src/runner/load-options.js';
import { type LoadSweepReport, derivedFigures, versusBestPeer } from '../src/runner/load-report.js';
import { gainShare } from '../src/runner/oracle-share.js';
import { type ReusedRuns, noteReused, reusableRun } from '../src/runner/load-reuse.js';
import {
  type LoadTask,
  loadPlans,
  loadTasks,
  runLoadTask,
  windowThroughput,
} from '../src/runner/load-run.js';
import { DEFAULT_REPLICA_DELAY_MS } from '../src/sim/ext-proc-replicas.js';
import { isMeasured } from '../src/runner/plans.js';
import type { PolicySummary } from '../src/runner/summary.js';

test('capacity: doubling until the throughput plateaus, capacity = plateau / tokens per session', () => {
  // A cluster that serves at most 8,000 output tokens/s; sessions ask for 4,000 tokens.
  const rates: number[] = [];
  const cap = findCapacity(
    8,
    4000,
    (rate) => {
      rates.push(rate);
      return { offered: rate * 4000, delivered: Math.min(rate * 4000, 8000), sessions: 100 };
    },
    () => {},
  );
  assert.equal(cap.sessions_per_s, 2);
  // From 50 tok/s per replica: 0.1, 0.2, ... 1.6, then 3.2 delivers 62% of what it is offered.
  assert.deepEqual(
    rates.map((r) => +r.toFixed(2)),
    [0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
  );
  assert.match(cap.method, /plateau 8000 tok\/s/);
  assert.equal(cap.probes.length, 6);
  // A cluster whose throughput stops growing while still serving most of it (a soft plateau).
  const soft = findCapacity(
    8,
    4000,
    (rate) => ({ offered: rate * 4000, delivered: Math.min(rate * 4000, 1700 + rate * 400), sessions: 100 }),
    () => {},
  );
  assert.ok(soft.probes.length < 8);
  // A first probe with a handful of sessions in the window can deliver less than offered by
  // chance (work still in flight): it does not stop the search.
  const noisy = findCapacity(
    8,
    4000,
    (rate) => ({
      offered: rate * 4000,
      delivered: rate * 40 < 40 ? rate * 3000 : Math.min(rate * 4000, 8000),
      sessions: rate * 40,
    }),
    () => {},
  );
  assert.equal(noisy.sessions_per_s, 2);
});

test('a load run measures only the sessions arriving in [warm-up, duration)', () => {
  const plans = loadPlans({
    workload: 'coding',
    rate: 0.5,
    durationS: 400,
    warmupS: 100,
    tailS: 50,
    seed: 3,
  });
  assert.ok(plans.length > 100);
  for (const p of plans) {
    assert.ok(p.arrivalS < 450);
    assert.equal(isMeasured(p.session), p.arrivalS >= 100 && p.arrivalS < 400, p.session);
  }
  // Poisson, not bursts: no two sessions arrive together.
  assert.equal(new Set(plans.map((p) => p.arrivalS)).size, plans.length);
});

test('window throughput counts only the output completed inside the window', () => {
  const timeline: Array<[number, number]> = [
    [500, 100],
    [1500, 200],
    [2500, 300],
  ];
  assert.equal(windowThroughput(timeline, 1, 2), 200);
  assert.equal(windowThroughput(timeline, 0, 3), 200);
});

const summary = (mean: number, p95: number): PolicySummary =>
  ({ jct_mean_s: mean, jct_p95_s: p95, sessions_completed: 10 }) as PolicySummary;

test('share of the oracle gain and pythia against the best peer', () => {
  assert.equal(gainShare(100, 80, 60), 0.5);
  assert.equal(gainShare(100, 110, 60), -0.25, 'worse than round-robin: negative');
  assert.equal(gainShare(100, 80, 100), null, 'no gain to share');
  const rows = {
    'round-robin': summary(100, 200),
    'least-request': summary(90, 150),
    dynamo: summary(95, 140),
    pythia: summary(75, 175),
  };
  assert.deepEqual(versusBestPeer(rows), { best_peer: 'least-request', jct_mean: 1.2, jct_p95: 0.8 });
  const d = derivedFigures({ coding: { '0.9': rows } }, { coding: { '0.9': summary(50, 100) } });
  assert.equal(d.oracle_gain_share['coding']?.['0.9']?.['pythia']?.jct_mean, 0.5);
  assert.equal(d.oracle_gain_share['coding']?.['0.9']?.['pythia']?.jct_p95, 0.25);
});

test('options: every bad value reported at once', () => {
  assert.throws(
    () =>
      parseLoadOptions([
        '--workload',
        'nope',
        '--loads',
        '0,x',
        '--policies',
        'least-request',
        '--jobs',
        '0',
      ]),
    (err: unknown) => err instanceof UsageError && err.problems.length === 4,
  );
  const { options } = parseLoadOptions(['--workload', 'coding-long', '--duration-s', '900']);
  assert.equal(options.durationS, 900);
  assert.ok(options.policies.includes('llm-d') && options.policies.includes('dynamo'));
  // The peers' queues (flow-control presets) are policies of the sweep too.
  const flow = parseLoadOptions(['--policies', 'round-robin,llm-d-flow,dynamo-wspt']).options;
  assert.deepEqual(flow.policies, ['round-robin', 'llm-d-flow', 'dynamo-wspt']);
  // A policy of the main bench, but the sweep always runs it: listed, it would run twice.
  assert.throws(
    () => parseLoadOptions(['--policies', 'round-robin,oracle']),
    (err: unknown) =>
      err instanceof UsageError && /oracle bound runs in every sweep/.test(err.problems.join()),
  );
});

test('--extproc-replicas reaches every run of the sweep, and its results come from that many cores', () => {
  const { options } = parseLoadOptions(['--extproc-replicas=2', '--replica-delay-ms=3', '--replicas=2']);
  assert.equal(options.extProcReplicas, 2);
  assert.equal(options.replicaDelayMs, 3);
  // The default delay is the main bench's (the loopback figure), one replica by default.
  const defaults = parseLoadOptions([]).options;
  assert.equal(defaults.extProcReplicas, 1);
  assert.equal(defaults.replicaDelayMs, DEFAULT_REPLICA_DELAY_MS);
  assert.throws(() => parseLoadOptions(['--extproc-replicas', '0']), UsageError);
  assert.throws(() => parseLoadOptions(['--replica-delay-ms=-1']), UsageError);
  const run = { workload: 'research', durationS: 60, warmupS: 10, tailS: 10 };
  const tasks = loadTasks(options, run, [0.2, 0.4], ['round-robin', 'pythia']);
  assert.equal(tasks.length, 4);
  for (const t of tasks) {
    assert.equal(t.extProcReplicas, 2);
    assert.equal(t.replicaDelayMs, 3);
  }
  // A short pythia run: every request goes through one of the two cores, alternately.
  const two = runLoadTask(tasks[1] as LoadTask);
  assert.equal(two.requestsPerExtProc.length, 2);
  const [a = 0, b = 0] = two.requestsPerExtProc;
  assert.ok(a > 10 && Math.abs(a - b) <= 1, `${a}/${b}`);
  const one = runLoadTask({ ...(tasks[1] as LoadTask), extProcReplicas: 1 });
  assert.deepEqual(one.requestsPerExtProc, [a + b]);
});

test('--reuse takes an earlier run only when it is the same run and its policy is listed', () => {
  const summary = (jct: number) => ({ jct_mean_s: jct }) as unknown as PolicySummary;
  const earlier = {
    seed: 1,
    commit: 'abc1234',
    configuration: { replicas: 4, duration_s: { coding: 300 } },
    warmup_s: { coding: 141 },
    tail_s: { coding: 70 },
    rates: { coding: { '0.9': 0.7343 } },
    results: { coding: { '0.9': { 'least-request': summary(150), pythia: summary(131) } } },
    oracle: { coding: { '0.9': summary(130) } },
  } as unknown as LoadSweepReport;
  const task: LoadTask = {
    workload: 'coding',
    policy: 'least-request',
    rate: 0.73431,
    durationS: 300,
    warmupS: 141,
    tailS: 70,
    seed: 1,
    replicas: 4,
    extProcReplicas: 1,
    replicaDelayMs: 1,
  };
  const allowed = new Set(['least-request', 'oracle']);
  assert.equal(reusableRun(earlier, allowed, task, '0.9')?.jct_mean_s, 150);
  assert.equal(reusableRun(earlier, allowed, { ...task, policy: 'oracle' }, '0.9')?.jct_mean_s, 130);
  // Not listed, another seed, rate, window or ext-proc replica count: run again.
  assert.equal(reusableRun(earlier, allowed, { ...task, policy: 'pythia' }, '0.9'), null);
  assert.equal(reusableRun(earlier, allowed, { ...task, seed: 2 }, '0.9'), null);
  assert.equal(reusableRun(earlier, allowed, { ...task, rate: 0.75 }, '0.9'), null);
  assert.equal(reusableRun(earlier, allowed, { ...task, durationS: 600 }, '0.9'), null);
  assert.equal(reusableRun(earlier, allowed, { ...task, extProcReplicas: 2 }, '0.9'), null);
  assert.equal(reusableRun(earlier, allowed, task, '1.0'), null);
  const reused: ReusedRuns = {};
  noteReused(reused, earlier.commit, task, '0.9');
  noteReused(reused, earlier.commit, { ...task, policy: 'oracle' }, '0.9');
  assert.deepEqual(reused, {
    coding: { '0.9': { commit: 'abc1234', policies: ['least-request', 'oracle'] } },
  });
  assert.throws(() => parseLoadOptions(['--reuse', 'x.json']), UsageError);
});
