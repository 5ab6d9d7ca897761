// Issue #13, "memory bounds that count real cost": every per-session, per-request and
// per-workflow table of the profiler core has an entry bound, a byte bound that counts its
// overhead, and idle expiry. Each test floods one table past its bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { ProfilerCore, type ProfilerCoreConfig } from '../src/core/profiler-core.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { CORE_CONFIG } from './support.js';

const [base] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
const T = base as Trace;
let ids = 0;
const T0 = 1_800_000_000_000;

function trace(workflow: string, agent: string, session: string, atMs: number, end = false): Trace {
  return {
    ...T,
    requestId: `req-${ids}-0000-4000-8000-000000000000`,
    exchange: `px-${ids++}`,
    workflow,
    agent,
    session,
    startUnixMs: atMs,
    endUnixMs: atMs + 100,
    outputTokens: 10 + (ids % 50),
    sessionEnd: end,
  };
}

const config = (c: Partial<ProfilerCoreConfig>): ProfilerCoreConfig => ({
  ...CORE_CONFIG,
  maxOpenSessions: 10_000_000,
  dedupeCapacity: 10_000_000,
  ...c,
});

test('request ids seen: a byte bound below the entry bound holds, overhead included', () => {
  const dedupeBytes = 256 * 1024;
  const core = new ProfilerCore<number>(config({ dedupeBytes }));
  for (let i = 0; i < 20_000; i++) core.ingest(trace('wf', 'a', `s${i}`, T0 + i, true), i, T0 + i);
  const seen = core.tables.seenIds;
  assert.ok(seen.bytes <= dedupeBytes, `${seen.bytes} > ${dedupeBytes}`);
  // Each id costs well over its 38 characters: fewer than 256 KiB / 38 entries are kept.
  assert.ok(seen.entries < dedupeBytes / 100, `${seen.entries} entries`);
  assert.ok(seen.entries > 0);
});

test('request ids seen and stored sessions expire after dedupeIdleMs without a touch', () => {
  const dedupeIdleMs = 60_000;
  const core = new ProfilerCore<number>(config({ dedupeIdleMs, sessionIdleMs: 1000, endGraceMs: 0 }), {
    learnOnStore: true,
  });
  for (let i = 0; i < 100; i++) core.ingest(trace('wf', 'a', `s${i}`, T0 + i, true), i, T0 + i);
  for (const d of core.completeDue(T0 + 2000)) core.stored(d.id);
  assert.equal(core.tables.seenIds.entries, 100);
  assert.equal(core.tables.storedSpans.entries, 100);
  core.expireIdle(T0 + 2000 + dedupeIdleMs + 1);
  core.expireIdle(T0 + 2000 + 2 * dedupeIdleMs + 2);
  assert.equal(core.tables.seenIds.entries, 0);
  assert.equal(core.tables.storedSpans.entries, 0);
});

test('stored sessions: the byte bound holds, overhead included', () => {
  const dedupeBytes = 128 * 1024;
  const core = new ProfilerCore<number>(config({ dedupeBytes, sessionIdleMs: 1000, endGraceMs: 0 }), {
    learnOnStore: true,
  });
  for (let i = 0; i < 5000; i++) {
    core.ingest(trace('wf', 'a', `s${i}`, T0 + i, true), i, T0 + i);
    if (i % 100 === 99) for (const d of core.completeDue(T0 + i + 1)) core.stored(d.id);
  }
  const stored = core.tables.storedSpans;
  assert.ok(stored.bytes <= dedupeBytes, `${stored.bytes} > ${dedupeBytes}`);
  assert.ok(stored.entries < 5000 && stored.entries > 0, `${stored.entries}`);
});

test('open sessions: the byte bound completes the oldest, the session receiving the trace is kept', () => {
  const openSessionsBytes = 512 * 1024;
  const core = new ProfilerCore<number>(config({ openSessionsBytes }));
  let evicted = 0;
  for (let i = 0; i < 5000; i++) {
    // Session "long" gets a trace every tenth time, others one each.
    const session = i % 10 === 0 ? 'long' : `s${i}`;
    assert.equal(core.ingest(trace('wf', 'a', session, T0 + i), i, T0 + i).accepted, true);
    const open = core.tables.open;
    assert.ok(open.bytes <= openSessionsBytes, `${open.bytes} > ${openSessionsBytes}`);
    if (i % 500 === 499) evicted += core.completeDue(T0 + i).filter((d) => d.reason === 'evicted').length;
  }
  assert.ok(evicted > 3000, `${evicted} evicted`);
  // Far fewer than 5000 sessions fit in 512 KiB at over 1 KiB each.
  assert.ok(core.tables.open.entries < 600, `${core.tables.open.entries} open`);
  const long = core.completeDue(T0 + 10_000_000).find((d) => d.summary.session === 'long');
  assert.equal(long?.summary.requests.length, 500, 'the session receiving traces is never the one evicted');
});

test('sessions waiting for their store: bounded; past the bound a trace is refused as overloaded, not seen', () => {
  const core = new ProfilerCore<number>(config({ maxOpenSessions: 50, sessionIdleMs: 1000, endGraceMs: 0 }), {
    learnOnStore: true,
  });
  // The store is down: nothing is ever reported stored.
  let overloaded: Trace | null = null;
  for (let i = 0; i < 500 && overloaded === null; i++) {
    const t = trace('wf', 'a', `s${i}`, T0 + i, true);
    const r = core.ingest(t, i, T0 + i);
    if (!r.accepted) {
      assert.equal(r.reason, 'overloaded');
      overloaded = t;
    }
    core.completeDue(T0 + i + 1);
  }
  assert.ok(overloaded, 'a trace is refused');
  assert.ok(core.awaitingStore <= 50, String(core.awaitingStore));
  // The store comes back: the refused trace's redelivery is accepted (it was not marked seen).
  for (const d of core.awaitingSessions()) core.stored(d.id);
  assert.equal(core.ingest(overloaded, 9999, T0 + 600).accepted, true);
});

test('learned state across workflows: the byte bound holds; a frequent workflow outlives a flood of junk ones', () => {
  const learnersBytes = 2 * 1024 * 1024;
  const core = new ProfilerCore<number>(
    config({ learnersBytes, maxWorkflows: 100_000, sessionIdleMs: 1000, endGraceMs: 0 }),
  );
  let t = T0;
  for (let i = 0; i < 3000; i++) {
    // The real workflow: a session of three agents every third step; junk: one request each.
    if (i % 3 === 0)
      for (const agent of ['planner', 'coder', 'reviewer'])
        core.ingest(trace('coding', agent, `c${i}`, t++, agent === 'reviewer'), 0, t);
    core.ingest(trace(`junk-${i}`, `agent-${i}`, `j${i}`, t++, true), 0, t);
    core.completeDue(t + 10);
    if (i % 100 === 99) core.rebuildDirty(t);
    const learners = core.tables.learners;
    assert.ok(learners.bytes <= learnersBytes, `${learners.bytes} > ${learnersBytes}`);
  }
  core.rebuildDirty(t);
  assert.ok(core.workflows < 3000, `${core.workflows} workflows kept`);
  assert.ok(
    core.models().some((m) => m.workflow === 'coding'),
    'the real workflow keeps its model',
  );
  const forgotten = core.takeForgotten();
  assert.ok(forgotten.length > 0 && !forgotten.includes('coding'));
});

test("one workflow's per-agent samples count toward the byte bound as they fill", () => {
  const core = new ProfilerCore<number>(config({ sessionIdleMs: 1000, endGraceMs: 0, sampleCapacity: 2000 }));
  let t = T0;
  const bytes: number[] = [];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 500; i++)
      for (let a = 0; a < 8; a++)
        core.ingest(trace('wf', `agent-${a}`, `s${round}-${i}`, t++, a === 7), 0, t);
    core.completeDue(t + 10);
    bytes.push(core.tables.learners.bytes);
  }
  // 8 agents x 6 rings filling towards 2000 doubles each: the estimate follows.
  assert.ok((bytes[3] as number) > 8 * 6 * 2000 * 8, `${bytes[3]}`);
  assert.ok((bytes[3] as number) > (bytes[0] as number) * 2, bytes.join(' '));
});

test('workflow and agent names unseen for nameIdleMs are forgotten, their models retracted', () => {
  const nameIdleMs = 3_600_000;
  const core = new ProfilerCore<number>(config({ nameIdleMs, sessionIdleMs: 1000, endGraceMs: 0 }));
  let t = T0;
  for (let i = 0; i < 30; i++) {
    core.ingest(trace('old', 'a', `o${i}`, t++, true), 0, t);
    core.ingest(trace('live', i < 15 ? 'gone' : 'b', `l${i}`, t++, true), 0, t);
  }
  core.completeDue(t + 10);
  core.rebuildDirty(t);
  core.expireIdle(t);
  assert.equal(core.workflows, 2);
  // 'live' keeps being seen (with agent b only); 'old' and agent 'gone' are not.
  const later = t + nameIdleMs + 1;
  core.ingest(trace('live', 'b', 'late', later, true), 0, later);
  core.expireIdle(later + 1);
  assert.equal(core.workflows, 1);
  assert.deepEqual(core.takeForgotten(), ['old']);
  core.completeDue(later + 10_000);
  core.rebuildDirty(later + 10_000);
  const live = core.models().find((m) => m.workflow === 'live');
  assert.deepEqual(
    live?.agents.map((a) => a.agent),
    ['b'],
  );
});
