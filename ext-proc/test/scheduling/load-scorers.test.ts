import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeLoadScorer as decodeLoadScorerPlugin } from '../../src/core/scheduling/plugins/decode-load-scorer.js';
import { kvUsageScorer as kvUsageScorerPlugin } from '../../src/core/scheduling/plugins/kv-usage-scorer.js';
import { queueScorer as queueScorerPlugin } from '../../src/core/scheduling/plugins/queue-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const decodeLoadScorer = decodeLoadScorerPlugin.create({});
const kvUsageScorer = kvUsageScorerPlugin.create({});
const queueScorer = queueScorerPlugin.create({});

test('queue: fewer waiting requests score higher', () => {
  assert.deepEqual(
    queueScorer.score(
      request,
      [endpoint('a', { waiting: 4 }), endpoint('b'), endpoint('c', { waiting: 2 })],
      sequence(0),
    ),
    [0, 1, 0.5],
  );
});

test('decode load: predicted outstanding tokens over speed, ours and other replicas', () => {
  const busy = { inFlight: 2, reservedTokens: 0, overflowSum: 0, decodeTokens: 4000 };
  const scores = decodeLoadScorer.score(
    request,
    [
      endpoint('slow', { local: busy, speed: 0.5 }),
      endpoint('fast', { local: busy, speed: 1 }),
      endpoint('idle'),
    ],
    sequence(0),
  );
  assert.deepEqual(scores, [0, 0.5, 1]);
  assert.deepEqual(
    decodeLoadScorer.score(request, [endpoint('r', { remote: busy }), endpoint('l')], sequence(0)),
    [0, 1],
  );
});

test('kv usage: lower reported usage scores higher', () => {
  assert.deepEqual(
    kvUsageScorer.score(
      request,
      [endpoint('a', { kvUsage: 0.25 }), endpoint('b', { kvUsage: 1.2 })],
      sequence(0),
    ),
    [0.75, 0],
  );
});
