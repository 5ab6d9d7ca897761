import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zeroLoad } from '../../../core/src/cluster/cluster-state.js';
import { tokenLoadScorer } from '../../src/core/scheduling/plugins/token-load-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const tokens = (reservedTokens: number) => ({ local: { ...zeroLoad(), reservedTokens } });

test('token load: fewest in-flight tokens scores 1, most 0, linear between', () => {
  const scorer = tokenLoadScorer.create({});
  const scores = scorer.score(
    request,
    [endpoint('a', tokens(4000)), endpoint('b', tokens(0)), endpoint('c', tokens(2000))],
    sequence(0),
  );
  assert.deepEqual(scores, [0, 1, 0.5]);
});
