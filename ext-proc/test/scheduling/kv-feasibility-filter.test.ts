import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvFeasibilityFilter as kvFeasibilityFilterPlugin } from '../../src/core/scheduling/plugins/kv-feasibility-filter.js';
import { endpoint, request, sequence } from './helpers.js';

const kvFeasibilityFilter = kvFeasibilityFilterPlugin.create({});

const load = (reservedTokens: number, overflowSum = 0) => ({
  inFlight: 1,
  reservedTokens,
  overflowSum,
  decodeTokens: 0,
});

test('keeps endpoints where prompt + p99 bound fits next to what runs there', () => {
  const ctx = sequence(0);
  const r = { ...request, promptTokens: 10_000, outputBound: 2_000 };
  const out = kvFeasibilityFilter.filter(
    r,
    [
      endpoint('full', { local: load(90_000) }),
      endpoint('fits', { local: load(80_000) }),
      endpoint('reported-full', { kvUsage: 0.95 }),
      endpoint('others-fill-it', { remote: load(95_000) }),
    ],
    ctx,
  );
  assert.deepEqual(
    out.map((c) => c.endpoint.address),
    ['fits'],
  );
});

test('rejects endpoints whose summed overflow probability would pass the threshold', () => {
  const out = kvFeasibilityFilter.filter(
    { ...request, overflow: 0.01 },
    [endpoint('risky', { local: load(0, 1.995) }), endpoint('calm', { local: load(0, 0.5) })],
    sequence(0),
  );
  assert.deepEqual(
    out.map((c) => c.endpoint.address),
    ['calm'],
  );
});

test('never empties the candidate list: with none feasible, all are kept', () => {
  const all = [endpoint('a', { local: load(99_999) }), endpoint('b', { local: load(99_999) })];
  assert.equal(kvFeasibilityFilter.filter({ ...request, outputBound: 5000 }, all, sequence(0)).length, 2);
});
