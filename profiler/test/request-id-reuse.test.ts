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
    const other: Trace = { ...(traces.find((t) => t.session === b) as Trace), requestId: first.requestId };
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
