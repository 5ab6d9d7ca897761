import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zeroLoad } from '../../../core/src/cluster/cluster-state.js';
import { prefixAffinityGateFilter } from '../../src/core/scheduling/plugins/prefix-affinity-gate-filter.js';
import { endpoint, request, sequence } from './helpers.js';

const tokens = (reservedTokens: number) => ({ local: { ...zeroLoad(), reservedTokens } });
const hashes = [11, 12, 13, 14];

test('prefix gate: sticky to the longest cached prefix until its token load passes the threshold', () => {
  const gate = prefixAffinityGateFilter.create({ threshold: 0.8 });
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes.slice(0, 3), 'warm', 1000);
  ctx.prefixIndex.record(hashes.slice(0, 1), 'lukewarm', 1000);
  const req = { ...request, promptTokens: 1000, prefixHashes: hashes };
  const names = (cs: ReadonlyArray<{ endpoint: { address: string } }>) => cs.map((c) => c.endpoint.address);
  // KV capacity 100k tokens (helpers): 70k in flight + 250 uncached is within 0.8.
  const light = [endpoint('warm', tokens(70_000)), endpoint('lukewarm'), endpoint('cold')];
  assert.deepEqual(names(gate.filter(req, light, ctx)), ['warm']);
  const busy = [endpoint('warm', tokens(80_000)), endpoint('lukewarm'), endpoint('cold')];
  assert.deepEqual(names(gate.filter(req, busy, ctx)), ['warm', 'lukewarm', 'cold'], 'saturated: all pass');
  const none = { ...req, prefixHashes: [99, 98] };
  assert.equal(gate.filter(none, light, ctx).length, 3, 'no cached prefix anywhere: all pass');
});
