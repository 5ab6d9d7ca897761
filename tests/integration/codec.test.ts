import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { decodeToken, encodeToken } from '../../core/src/wire/subjects.js';
import {
  decodeModel,
  decodeRequestStart,
  decodeTrace,
  encodeModel,
  encodeRequestStart,
  encodeTrace,
} from '../../core/src/wire/codec.js';

test('trace records round-trip, cached tokens keep "unknown" apart from 0', () => {
  const [t] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
  const trace = { ...(t as NonNullable<typeof t>), startUnixMs: 1_790_000_000_123.5 };
  assert.deepEqual(decodeTrace(encodeTrace(trace)), trace);
  assert.equal(decodeTrace(encodeTrace({ ...trace, cachedTokens: 0 })).cachedTokens, 0);
  assert.equal(decodeTrace(encodeTrace({ ...trace, cachedTokens: null })).cachedTokens, null);
  assert.throws(() => decodeTrace(Buffer.from('not protobuf at all')));
});

test('request starts round-trip; bytes without the identifiers are refused', () => {
  const start = {
    requestId: 'r-1',
    exchange: 'r-1',
    workflow: 'coding',
    session: 's-9',
    agent: 'planner',
    pool: 'llama',
    startUnixMs: 1_790_000_000_123.5,
  };
  assert.deepEqual(decodeRequestStart(encodeRequestStart(start)), start);
  assert.throws(() => decodeRequestStart(encodeRequestStart({ ...start, session: '' })), /session/);
  assert.throws(() => decodeRequestStart(Buffer.from([0xff, 0xff, 0xff])));
});

test('workflow models round-trip through protobuf', () => {
  const { models } = buildOffline(
    synthesizeTraces(codingWorkload({ sessions: 60, ratePerS: 1, seed: 2 })),
    CORE_CONFIG,
  );
  const model = models[0];
  assert.ok(model);
  assert.deepEqual(decodeModel(encodeModel(model)), model);
});

test('identifiers map to NATS key tokens and back', () => {
  for (const id of ['coding', 'team:alpha@v2', 'a.b+c-d_e']) {
    const token = encodeToken(id);
    assert.match(token, /^[A-Za-z0-9_=-]+$/);
    assert.equal(decodeToken(token), id);
  }
});
