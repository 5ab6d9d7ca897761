import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leastRequestScorer as leastRequestScorerPlugin } from '../../src/core/scheduling/plugins/least-request-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const leastRequestScorer = leastRequestScorerPlugin.create({});

test('scores fewer in-flight requests higher, linearly in [0,1]', () => {
  const scores = leastRequestScorer.score(
    request,
    [endpoint('a', { inFlight: 4 }), endpoint('b', { inFlight: 0 }), endpoint('c', { inFlight: 2 })],
    sequence(0),
  );
  assert.deepEqual(scores, [0, 1, 0.5]);
});

test('equal load scores all 1', () => {
  assert.deepEqual(
    leastRequestScorer.score(
      request,
      [endpoint('a', { inFlight: 3 }), endpoint('b', { inFlight: 3 })],
      sequence(0),
    ),
    [1, 1],
  );
});
