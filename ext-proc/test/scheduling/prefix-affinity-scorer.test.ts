import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainedBlockHashes } from '../../../core/src/prompt/prefix-hash.js';
import { prefixAffinityScorer as prefixAffinityScorerPlugin } from '../../src/core/scheduling/plugins/prefix-affinity-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const prefixAffinityScorer = prefixAffinityScorerPlugin.create({});

test('scores the share of leading blocks each endpoint holds', () => {
  const ctx = sequence(0);
  const system = 'S'.repeat(4096);
  const a = chainedBlockHashes(`${system}${'a'.repeat(4096)}`, 1024);
  const b = chainedBlockHashes(`${system}${'b'.repeat(4096)}`, 1024);
  ctx.prefixIndex.record(a, 'x', 1000);
  const scores = prefixAffinityScorer.score(
    { ...request, prefixHashes: b },
    [endpoint('x'), endpoint('y')],
    ctx,
  );
  assert.deepEqual(scores, [0.5, 0], 'the shared system prompt (4 of 8 blocks) is held on x');
  assert.deepEqual(prefixAffinityScorer.score(request, [endpoint('x')], ctx), [0], 'no hashes, no affinity');
});
