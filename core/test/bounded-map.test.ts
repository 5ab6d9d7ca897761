import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from '../src/bounded/bounded-map.js';
import { CompetingNames } from '../src/bounded/competing-names.js';
import { stringBytes } from '../src/bounded/memory-cost.js';

function map(maxEntries: number, maxBytes: number, idleMs = 60_000) {
  let now = 0;
  const m = new BoundedMap<string, string>({
    maxEntries,
    maxBytes,
    idleMs,
    now: () => now,
    sizeOf: (k, v) => 100 + stringBytes(k) + stringBytes(v),
  });
  return { m, advance: (ms: number) => (now += ms) };
}

test('an empty string is not free: the estimate counts headers and overhead', () => {
  assert.equal(stringBytes(''), 16);
  assert.equal(stringBytes('abcd'), 16);
  assert.equal(stringBytes('abcde'), 24);
  assert.equal(stringBytes('é'.repeat(8)), 24, 'Latin-1: one byte a character');
  assert.equal(stringBytes('→'.repeat(8)), 32, 'two bytes a character beyond Latin-1');
  const { m } = map(1_000_000, 1_000_000);
  for (let i = 0; i < 10_000; i++) m.set(`k${i}`, '');
  assert.ok(m.bytes <= 1_000_000, String(m.bytes));
  assert.ok(m.size < 10_000, 'ten thousand empty values do not fit in a million bytes');
});

test('eviction keeps the entry count and the byte estimate under their bounds', () => {
  const { m } = map(1000, 50_000);
  let maxBytes = 0;
  let maxSize = 0;
  for (let i = 0; i < 100_000; i++) {
    m.set(`session-${i}`, 'x'.repeat(i % 300));
    if (i % 7 === 0) m.get(`session-${i - 3}`);
    maxBytes = Math.max(maxBytes, m.bytes);
    maxSize = Math.max(maxSize, m.size);
  }
  assert.ok(maxBytes <= 50_000, `bytes ${maxBytes}`);
  assert.ok(maxSize <= 1000, `entries ${maxSize}`);
  assert.ok(m.evicted.capacity > 90_000);
  assert.equal(m.get('session-99999'), 'x'.repeat(99_999 % 300), 'the newest is kept');
  // The count bound binds when entries are small.
  const small = map(100, 1 << 30).m;
  for (let i = 0; i < 10_000; i++) small.set(`k${i}`, '');
  assert.ok(small.size <= 100 && small.size >= 50, String(small.size));
});

test('recently used entries survive; an entry over half the byte bound is refused', () => {
  const { m } = map(100, 1 << 20);
  m.set('hot', 'h');
  for (let i = 0; i < 1000; i++) {
    m.set(`cold${i}`, 'c');
    assert.equal(m.get('hot'), 'h', `hot entry kept at ${i}`);
  }
  assert.equal(m.set('huge', 'x'.repeat(600_000)), false);
  assert.equal(m.has('huge'), false);
  assert.equal(m.evicted.oversized, 1);
});

test('in-place growth is re-estimated by resize and stays bounded', () => {
  let now = 0;
  const m = new BoundedMap<string, number[]>({
    maxEntries: 100,
    maxBytes: 10_000,
    idleMs: 1000,
    now: () => now,
    sizeOf: (_k, v) => 100 + 8 * v.length,
  });
  for (let i = 0; i < 50; i++) m.set(`k${i}`, []);
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 50; i++) {
      const v = m.get(`k${i}`);
      if (!v) continue;
      v.push(round);
      m.resize(`k${i}`);
      assert.ok(m.bytes <= 10_000, String(m.bytes));
    }
    now += 1;
  }
  assert.ok(m.size < 50, 'growth evicted entries');
});

test('idle entries expire on the injected clock and their memory goes within two periods', () => {
  const { m, advance } = map(1000, 1 << 20, 1000);
  for (let i = 0; i < 100; i++) m.set(`idle${i}`, 'v');
  m.set('busy', 'v');
  advance(600);
  assert.equal(m.get('idle0'), 'v', 'not idle yet (and refreshed)');
  m.get('busy');
  advance(600);
  assert.equal(m.peek('idle1'), undefined, 'idle for 1200 ms: gone');
  assert.equal(m.get('idle0'), 'v', 'refreshed 600 ms ago');
  for (let t = 0; t < 10; t++) {
    advance(250);
    m.get('busy');
  }
  assert.equal(m.size, 1, `only the busy entry is held: ${[...m.entries()].map(([k]) => k).join(',')}`);
  assert.ok(m.evicted.idle >= 100);
  advance(5000);
  m.sweep();
  assert.equal(m.size, 0);
  assert.equal(m.bytes, 0);
});

test('competing names: evidence and recency, never first come first served', () => {
  const names = new CompetingNames<number>(4, 1000);
  let t = 0;
  for (const n of ['a', 'b', 'c', 'd']) names.observe(n, t++, () => 0);
  names.observe('real', t++, () => 1);
  assert.ok(names.has('real'), 'a new name gets in');
  assert.ok(!names.has('a'), 'the oldest of the equally weak goes');
  names.observe('real', t++, () => 1);
  for (let i = 0; i < 1000; i++) names.observe(`junk${i}`, t++, () => 0);
  assert.ok(names.has('real'), 'a name seen twice outlives a flood of names seen once');
  assert.equal(names.size, 4);
  // Evidence fades: after many half-lives unseen, a name seen once now outranks it.
  t += 20_000;
  for (let i = 0; i < 4; i++) names.observe(`fresh${i}`, t++, () => 0);
  assert.ok(!names.has('real'));
});
