// Crash consistency of the profiler core (learnOnStore, as the service runs it): a session is
// stored and learned exactly once whatever is replayed after a crash, a summary that could not
// be stored waits (its traces unacknowledged) until it is, and an outage does not split a
// session in progress.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { ProfilerCore, sessionIdentity } from '../src/core/profiler-core.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { CORE_CONFIG } from './support.js';

const IDLE = CORE_CONFIG.sessionIdleMs;
const durable = () => new ProfilerCore<string>({ ...CORE_CONFIG }, { learnOnStore: true });
const sessionTraces = (seed: number) =>
  synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed })).map((t) => ({
    ...t,
    sessionEnd: false,
  }));
const learned = (core: ProfilerCore<string>) => {
  core.rebuildDirty(0);
  return core.models()[0]?.sessions ?? 0;
};

test('a completed session is learned only once stored; a failed store keeps it and its tokens', () => {
  const core = durable();
  const traces = sessionTraces(1);
  traces.forEach((t, i) => core.ingest(t, `tok${i}`, 0));
  const [done] = core.completeDue(IDLE);
  assert.ok(done && !done.duplicate);
  assert.equal(done.id, sessionIdentity('coding', traces[0]?.session ?? '', traces[0]?.startUnixMs ?? 0));
  assert.equal(core.awaitingStore, 1);
  assert.equal(learned(core), 0, 'not learned before it is stored');
  // The store failed (NATS away): nothing acknowledged; a redelivery is held with it, newest token.
  assert.deepEqual(core.ingest(traces[0] as Trace, 'again', IDLE + 1), { accepted: true });
  assert.equal(core.awaitingSessions().length, 1, 'retried on the next pass');
  const acks = core.stored(done.id);
  assert.equal(acks.length, traces.length);
  assert.ok(acks.includes('again') && !acks.includes('tok0'));
  assert.equal(core.awaitingStore, 0);
  assert.equal(learned(core), 1);
  // Redelivered after its store: a duplicate, acknowledged at once, not learned again.
  assert.deepEqual(core.ingest(traces[1] as Trace, 'late', IDLE + 2), {
    accepted: false,
    reason: 'duplicate',
  });
});

test('after a crash the next core, reading the traces in progress first, stores each session once and whole', () => {
  // Three sessions; the first crashes mid-way (its traces unacknowledged), the second was
  // stored and acknowledged just before the crash (its traces still past the ack floor).
  const [a, b, c] = [sessionTraces(2), sessionTraces(3), sessionTraces(4)].map((ts, k) =>
    ts.map((t) => ({
      ...t,
      session: `s${k}`,
      requestId: `s${k}-${t.requestId}`,
      exchange: `s${k}-${t.exchange}`,
    })),
  ) as [Trace[], Trace[], Trace[]];
  const first = durable();
  const half = Math.floor(a.length / 2);
  a.slice(0, half).forEach((t) => first.ingest(t, 'old', 0));
  b.forEach((t) => first.ingest(t, 'old', 0));
  const [stored] = first.completeDue(IDLE).filter((d) => d.summary.session === 's1');
  assert.ok(stored);
  first.stored(stored.id);
  // Crash. The next core replays the stored summaries, then every trace past the ack floor
  // (both sessions, without tokens), then takes new traces and the redeliveries.
  const next = durable();
  next.replay(stored.summary);
  for (const t of [...a.slice(0, half), ...b]) next.ingest(t, null, 10 * IDLE);
  for (const t of [...a.slice(half), ...c]) next.ingest(t, 'new', 10 * IDLE);
  for (const t of a.slice(0, half))
    assert.deepEqual(next.ingest(t, 'redelivered', 10 * IDLE), { accepted: true });
  // Redeliveries of the stored session are held too, and acknowledged when it turns out a duplicate.
  for (const t of b) next.ingest(t, 'redelivered', 10 * IDLE);
  const done = next.completeDue(11 * IDLE);
  const byId = new Map(done.map((d) => [d.summary.session, d]));
  assert.equal(byId.get('s1')?.duplicate, true, 'the stored session is not stored again');
  assert.equal(byId.get('s1')?.acks.length, b.length, 'and its traces are acknowledged');
  assert.equal(byId.get('s0')?.summary.requests.length, a.length, 'the interrupted session is whole');
  assert.equal(byId.get('s2')?.summary.requests.length, c.length);
  for (const d of next.awaitingSessions()) next.stored(d.id);
  assert.equal(learned(next), 3, 'one stored session replayed, two learned once each');
});

test('a store found duplicate (another replica stored it) is acknowledged and learned from the record', () => {
  const core = durable();
  const traces = sessionTraces(5);
  traces.forEach((t) => core.ingest(t, 'tok', 0));
  const [done] = core.completeDue(IDLE);
  assert.ok(done);
  assert.equal(core.stored(done.id, true).length, traces.length);
  assert.equal(learned(core), 0);
  core.replay(done.summary);
  core.replay(done.summary);
  assert.equal(learned(core), 1, 'learned once, from the stored record');
});

test('an outage longer than the idle timeout does not split a session: idle clocks restart', () => {
  const core = durable();
  const traces = sessionTraces(6);
  const half = Math.floor(traces.length / 2);
  traces.slice(0, half).forEach((t) => core.ingest(t, 'tok', 0));
  // NATS away for 3 idle timeouts: the service holds completions, then restarts the clocks.
  core.restartIdleClocks(3 * IDLE);
  assert.equal(core.completeDue(3 * IDLE + IDLE / 2).length, 0, 'not completed at reconnection');
  traces.slice(half).forEach((t) => core.ingest(t, 'tok', 3 * IDLE + IDLE / 2));
  const done = core.completeDue(5 * IDLE);
  assert.equal(done.length, 1);
  assert.equal(done[0]?.summary.requests.length, traces.length);
});

test('without learnOnStore (offline builds, the simulator) sessions are learned as they complete', () => {
  const core = new ProfilerCore<string>(CORE_CONFIG);
  sessionTraces(7).forEach((t) => core.ingest(t, 'tok', 0));
  assert.equal(core.completeDue(IDLE).length, 1);
  assert.equal(core.awaitingStore, 0);
  assert.equal(learned(core), 1);
});

test('a session stored long ago (its summary gone from the stream) whose later traces lie past the floor is not stored again', () => {
  // s0 was stored and acknowledged; a long session L, started between s0's requests, holds the
  // acknowledgement floor below s0's later traces. Then the profiler restarts; s0's summary has
  // rolled off the sessions stream (max_sessions_kept newer ones), so nothing replays it.
  const WAIT = 5 * IDLE;
  const [s0, long] = [sessionTraces(5), sessionTraces(6)].map((ts, k) =>
    ts.map((t) => ({
      ...t,
      session: `s${k}`,
      requestId: `s${k}-${t.requestId}`,
      exchange: `s${k}-${t.exchange}`,
    })),
  ) as [Trace[], Trace[]];
  const half = Math.floor(s0.length / 2);
  const next = new ProfilerCore<string>({ ...CORE_CONFIG }, { learnOnStore: true, redeliveryWaitMs: WAIT });
  // Read past the floor without tokens: s0's later half (acknowledged) and L's first trace (not).
  const at = 10 * IDLE;
  for (const t of [...s0.slice(half), ...long.slice(0, 1)]) next.ingest(t, null, at);
  // L's trace is redelivered (it was unacknowledged); s0's never are.
  next.ingest(long[0] as Trace, 'redelivered', at + 1);
  for (const t of long.slice(1)) next.ingest(t, 'new', at + 2);
  const early = next.completeDue(at + 2 + IDLE);
  assert.deepEqual(
    early.map((d) => d.summary.session),
    ['s1'],
    'the long session completes; the fragment waits for redeliveries',
  );
  assert.equal(early[0]?.summary.requests.length, long.length);
  const late = next.completeDue(at + WAIT);
  assert.equal(late.length, 1);
  assert.equal(late[0]?.summary.session, 's0');
  assert.equal(late[0]?.duplicate, true, 'no token came: it was stored, and is not stored again');
  assert.deepEqual(late[0]?.acks, []);
  assert.equal(next.awaitingStore, 1, 'only the long session waits for its store');
});

test('a session read without tokens that was not stored completes whole once its traces are redelivered', () => {
  const WAIT = 5 * IDLE;
  const traces = sessionTraces(7).map((t, i) => ({ ...t, sessionEnd: i === 0 ? false : t.sessionEnd }));
  const next = new ProfilerCore<string>({ ...CORE_CONFIG }, { learnOnStore: true, redeliveryWaitMs: WAIT });
  for (const t of traces) next.ingest(t, null, 0);
  assert.deepEqual(next.completeDue(IDLE), [], 'not completed before a redelivery or the wait');
  // The crashed leader's traces come back after the ack wait (< WAIT), with tokens.
  traces.forEach((t, i) => next.ingest(t, `tok${i}`, 2 * IDLE));
  const [done] = next.completeDue(2 * IDLE);
  assert.ok(done && !done.duplicate);
  assert.equal(done.summary.requests.length, traces.length);
  assert.equal(done.acks.length, traces.length);
});
