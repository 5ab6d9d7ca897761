// The profiler's pass (service and simulator): completion on every pass, rebuilds at most
// once per interval unless forced, settings from the configuration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { ProfilerCore } from '../src/core/profiler-core.js';
import { ProfilerPass } from '../src/core/profiler-pass.js';
import { CORE_CONFIG } from './support.js';

const sessions = (n: number, seed: number): Trace[][] => {
  const traces = synthesizeTraces(codingWorkload({ sessions: n, ratePerS: 1, seed }));
  const bySession = new Map<string, Trace[]>();
  for (const t of traces) bySession.set(t.session, [...(bySession.get(t.session) ?? []), t]);
  return [...bySession.values()];
};

/** Feeds whole sessions (their end marker set, so they complete on the next pass). */
function ingest(pass: ProfilerPass<number>, traces: readonly Trace[], nowMs: number): void {
  traces.forEach((t, i) => pass.core.ingest({ ...t, sessionEnd: i === traces.length - 1 }, i, nowMs));
}

test('sessions complete on every pass; models rebuild at most once per interval', () => {
  const pass = new ProfilerPass(new ProfilerCore<number>(CORE_CONFIG), { rebuildIntervalMs: 5000 });
  const [a, b, c] = sessions(3, 1);
  ingest(pass, a ?? [], 0);
  const first = pass.run(0);
  assert.equal(first.completed.length, 1, 'ended sessions complete at once (no end grace)');
  assert.deepEqual(
    first.rebuilt?.map((r) => r.model.workflow),
    ['coding'],
    'the first pass rebuilds',
  );
  ingest(pass, b ?? [], 1000);
  const early = pass.run(1000);
  assert.equal(early.completed.length, 1, 'completion does not wait for the rebuild interval');
  assert.equal(early.rebuilt, null, 'no rebuild 1 s after the last');
  assert.equal(pass.run(4999).rebuilt, null);
  const due = pass.run(5000);
  assert.equal(due.rebuilt?.length, 1, 'the dirty workflow rebuilds once the interval is over');
  assert.equal(due.rebuilt?.[0]?.model.sessions, 2);
  assert.deepEqual(pass.run(10_000).rebuilt, [], 'due, but nothing new to rebuild');
  ingest(pass, c ?? [], 11_000);
  const forced = pass.run(11_000, { force: true, unixMs: 1_700_000_011_000 });
  assert.equal(forced.rebuilt?.length, 1, 'forced (restore, flush) at any time');
  assert.equal(forced.rebuilt?.[0]?.model.builtUnixMs, 1_700_000_011_000, 'stamped with the wall time given');
  assert.equal(pass.run(12_000).rebuilt, null, 'a forced rebuild restarts the interval');
});

test('the stopwatch times the rebuild alone', () => {
  let clock = 0;
  const stopwatch = () => (clock += 7);
  const pass = new ProfilerPass(new ProfilerCore<number>(CORE_CONFIG), {
    rebuildIntervalMs: 1000,
    stopwatch,
  });
  ingest(pass, sessions(1, 2)[0] ?? [], 0);
  assert.equal(pass.run(0).rebuildMs, 7);
  assert.equal(pass.run(10).rebuildMs, 0, 'no rebuild, no time');
});

test('built from the configuration: rebuild interval, idle window and end grace', () => {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    profiler: { rebuild_interval_s: 2, session_idle_s: 10, end_grace_s: 3 },
  });
  const pass = ProfilerPass.fromConfig<number>(config);
  assert.equal(pass.rebuildIntervalMs, 2000);
  const [ended, idle] = sessions(2, 3);
  ingest(pass, ended ?? [], 0);
  (idle ?? []).forEach((t, i) => pass.core.ingest({ ...t, sessionEnd: false }, i, 0));
  assert.equal(pass.run(2999).completed.length, 0, 'the end grace (3 s) is not over');
  assert.deepEqual(
    pass.run(3000).completed.map((d) => d.reason),
    ['end_marker'],
  );
  assert.equal(pass.run(9999).completed.length, 0);
  assert.deepEqual(
    pass.run(10_000).completed.map((d) => d.reason),
    ['idle'],
  );
});
