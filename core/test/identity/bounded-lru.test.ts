import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedLru, ENTRY_OVERHEAD_BYTES } from '../../src/identity/bounded-lru.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';

test('keeps at most maxEntries, dropping the least recently used', () => {
  const lru = new BoundedLru<number>({ maxEntries: 3, maxBytes: 1e9, idleMs: 0 }, new ManualClock());
  lru.set('a', 1, 8);
  lru.set('b', 2, 8);
  lru.set('c', 3, 8);
  assert.equal(lru.get('a'), 1); // a is now the most recent
  lru.set('d', 4, 8);
  assert.equal(lru.size, 3);
  assert.equal(lru.get('b'), undefined, 'b was the least recently used');
  assert.equal(lru.get('a'), 1);
  assert.equal(lru.evicted, 1);
});

test('the byte bound counts keys, values and the per-entry overhead', () => {
  const perEntry = 2 + 100 + ENTRY_OVERHEAD_BYTES;
  const lru = new BoundedLru<string>(
    { maxEntries: 1000, maxBytes: perEntry * 5, idleMs: 0 },
    new ManualClock(),
  );
  for (let i = 0; i < 10; i++) lru.set(String(i), 'x', 100);
  assert.equal(lru.size, 5);
  assert.equal(lru.bytes, perEntry * 5);
  lru.set('9', 'y', 2000); // grown past the whole bound: pushes out everything
  assert.ok(lru.bytes <= perEntry * 5);
  assert.equal(lru.get('9'), undefined, 'an entry larger than the bound is not kept');
});

test('idle entries expire on the injected clock, touched ones stay', () => {
  const clock = new ManualClock(0);
  const lru = new BoundedLru<number>({ maxEntries: 10, maxBytes: 1e9, idleMs: 1000 }, clock);
  lru.set('a', 1, 8);
  lru.set('b', 2, 8);
  clock.advance(600);
  assert.equal(lru.get('a'), 1);
  clock.advance(600);
  assert.equal(lru.get('b'), undefined);
  assert.equal(lru.get('a'), 1);
  clock.advance(1000);
  lru.set('c', 3, 8); // a set sweeps idle entries from the old end
  assert.equal(lru.size, 1);
  assert.equal(lru.expired, 2);
});

test('delete and re-set keep the byte count exact', () => {
  const lru = new BoundedLru<number>({ maxEntries: 10, maxBytes: 1e9, idleMs: 0 }, new ManualClock());
  lru.set('a', 1, 10);
  lru.set('a', 2, 20);
  assert.equal(lru.bytes, 2 + 20 + ENTRY_OVERHEAD_BYTES);
  assert.equal(lru.delete('a'), true);
  assert.equal(lru.bytes, 0);
  assert.equal(lru.size, 0);
});
