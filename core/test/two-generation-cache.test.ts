import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TwoGenerationCache } from '../src/bounded/two-generation-cache.js';

test('stays within capacity and keeps recently used entries', () => {
  const cache = new TwoGenerationCache<number, number>(100);
  for (let i = 0; i < 1000; i++) {
    cache.set(i, i);
    cache.get(0); // keep 0 hot
  }
  assert.ok(cache.size <= 100, String(cache.size));
  assert.equal(cache.get(0), 0, 'a hot entry survives');
  assert.equal(cache.get(999), 999);
  assert.equal(cache.peek(1), undefined, 'a cold old entry is gone');
  assert.ok(cache.evicted >= 900);
  assert.equal(cache.delete(999), true);
  assert.equal(cache.has(999), false);
});
