import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zeroLoad } from '../../../core/src/cluster/cluster-state.js';
import { kvCostScorer } from '../../src/core/scheduling/plugins/kv-cost-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const tokens = (reservedTokens: number) => ({ local: { ...zeroLoad(), reservedTokens } });
const hashes = [11, 12, 13, 14];

test('kv cost: uncached prompt blocks x overlap weight + active blocks, cheapest scores 1', () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'warm', 1000);
  const req = { ...request, promptTokens: 64, prefixHashes: hashes };
  // warm: 0 blocks to prefill + 160/16 = 10 active; cold: 4 + 0; busy-cold: 4 + 20.
  const candidates = [endpoint('warm', tokens(160)), endpoint('cold'), endpoint('busy', tokens(320))];
  const scorer = kvCostScorer.create({ overlap_weight: 1, block_size: 16 });
  assert.deepEqual(scorer.score(req, candidates, ctx), [0.7, 1, 0]);
  // With prefill weighed 4x, the warm endpoint wins: 10 vs 16 vs 36.
  const weighted = kvCostScorer.create({ overlap_weight: 4, block_size: 16 });
  assert.deepEqual(weighted.score(req, candidates, ctx), [1, 0.7692307692307693, 0]);
});
