// A trace's x-request-id is the client's: clients may send the same one (a constant, a retry,
// or another client's on purpose). Redeliveries are recognised by request id within its
// session, so a trace of another session with the same id is learned, never dropped as a
// duplicate of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { ProfilerCore } from '../src/core/profiler-core.js';
import { CORE_CONFIG } from './support.js';

const sessions = () => {
  const traces = synthesizeTraces(codingWorkload({ sessions: 2, ratePerS: 1, seed: 4 }));
  const [a, b] = [...new Set(traces.map((t) => t.session))];
  return { traces, a: a as string, b: b as string };
};

test("a trace with another session's request id is accepted; a redelivery in its own session is not", () => {
  for (const learnOnStore of [false, true]) {
    const core = new ProfilerCore<string>({ ...CORE_CONFIG }, { learnOnStore });
    const { traces, a, b } = sessions();
    const first = traces.find((t) => t.session === a) as Trace;
    const other: Trace = {
      ...(traces.find((t) => t.session === b) as Trace),
      requestId: first.requestId,
      exchange: first.exchange,
    };
    assert.deepEqual(core.ingest(first, 'a', 0), { accepted: true });
    assert.deepEqual(core.ingest(other, 'b', 0), { accepted: true }, 'another session, the same client id');
    // Held with their own sessions: each acknowledged with its session, under its newest token.
    assert.deepEqual(core.ingest(first, 'a2', 1), { accepted: true });
    const done = core.completeDue(10 * 60_000);
    assert.equal(done.length, 2);
    const acks = done.map((d) => d.acks).flat();
    if (learnOnStore) for (const d of done) acks.push(...core.stored(d.id));
    assert.ok(acks.includes('a2') && acks.includes('b') && !acks.includes('a'), acks.join(','));
    // Once learned, a redelivery of either is a duplicate.
    assert.deepEqual(core.ingest(other, 'late', 2), { accepted: false, reason: 'duplicate' });
    assert.equal(core.rejected.get('duplicate'), 1);
  }
});

test("one session's requests that repeat a client id are each learned: redeliveries are recognised by the exchange id", () => {
  for (const learnOnStore of [false, true]) {
    const core = new ProfilerCore<string>({ ...CORE_CONFIG }, { learnOnStore });
    const { traces, a } = sessions();
    const own = traces.filter((t) => t.session === a);
    assert.ok(own.length >= 3);
    // Every request of the session sends one constant x-request-id; ext-proc names each exchange.
    const sent = own.map((t, i): Trace => ({ ...t, requestId: 'constant-id', exchange: `px-1-${i}` }));
    for (const [i, t] of sent.entries())
      assert.deepEqual(core.ingest(t, `t${i}`, 0), { accepted: true }, `request ${i}`);
    // A redelivery of the second request: held with its session under its newest token.
    assert.deepEqual(core.ingest(sent[1] as Trace, 't1-again', 1), { accepted: true });
    const done = core.completeDue(10 * 60_000);
    assert.equal(done.length, 1);
    assert.equal(done[0]?.summary.requests.length, own.length, 'every request, none twice');
    // With learnOnStore, stored() hands out every token of the session (done.acks: those known so far).
    const acks = learnOnStore ? core.stored(done[0]?.id ?? '') : [...(done[0]?.acks ?? [])];
    assert.equal(acks.length, own.length);
    assert.ok(acks.includes('t1-again') && !acks.includes('t1'), acks.join(','));
    assert.deepEqual(core.ingest(sent[2] as Trace, 'late', 2), { accepted: false, reason: 'duplicate' });
  }
});

test('a trace from a replica older than the exchange id is recognised by its request id', () => {
  const core = new ProfilerCore<string>({ ...CORE_CONFIG });
  const { traces, a } = sessions();
  const first: Trace = { ...(traces.find((t) => t.session === a) as Trace), exchange: '' };
  assert.deepEqual(core.ingest(first, null, 0), { accepted: true });
  assert.deepEqual(core.ingest(first, null, 1), { accepted: false, reason: 'duplicate' });
});
