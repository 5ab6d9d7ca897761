import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headroomScorer as headroomScorerPlugin } from '../../src/core/scheduling/plugins/headroom-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const headroomScorer = headroomScorerPlugin.create({});

test('largest expected free KV after admission scores highest', () => {
  const r = { ...request, promptTokens: 10_000, outputExpected: 0 };
  const scores = headroomScorer.score(
    r,
    [
      endpoint('empty'),
      endpoint('half', { kvUsage: 0.5 }),
      endpoint('reserved', {
        local: { inFlight: 1, reservedTokens: 70_000, overflowSum: 0, decodeTokens: 0 },
      }),
      endpoint('over', { kvUsage: 0.99 }),
    ],
    sequence(0),
  );
  assert.deepEqual(
    scores.map((s) => +s.toFixed(2)),
    [0.9, 0.4, 0.2, 0],
  );
});
