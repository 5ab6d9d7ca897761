import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainedBlockHashes, promptText } from '../../core/src/prompt/prefix-hash.js';
import { PrefixIndex } from '../src/core/routing/prefix-index.js';
import { seededRandom } from '../../test-support/src/workloads/rng.js';

test('chained hashes: equal at block i only if the prompts agree up to block i', () => {
  const a = chainedBlockHashes(`${'x'.repeat(2048)}A${'y'.repeat(2047)}`, 1024);
  const b = chainedBlockHashes(`${'x'.repeat(2048)}B${'y'.repeat(2047)}`, 1024);
  assert.equal(a.length, 4);
  assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
  assert.notEqual(a[2], b[2]);
  assert.notEqual(a[3], b[3], 'later blocks differ too, though their own bytes are equal');
  assert.equal(chainedBlockHashes('short', 1024).length, 0, 'only full blocks');
});

test('prompt text follows message order and roles', () => {
  assert.equal(
    promptText({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: [{ type: 'text', text: 'U' }] },
      ],
    }),
    'system\u0000S\u0000user\u0000U',
  );
  assert.equal(promptText({ prompt: 'P' }), 'P');
});

test('the index ages entries out and stays within its bound', () => {
  let now = 0;
  const index = new PrefixIndex({ maxBlocks: 100, maxBytes: 1 << 20, ttlMs: 1000 }, () => now);
  const h = chainedBlockHashes('z'.repeat(10 * 1024), 1024);
  index.record(h, 'e1', 0);
  assert.equal(index.matchLengths(h, ['e1', 'e2'], 500).get('e1'), 10);
  assert.equal(index.matchLengths(h, ['e1'], 2000).get('e1'), undefined, 'evicted by age');
  now = 3000;
  for (let i = 0; i < 50; i++) index.record(chainedBlockHashes(`${i}`.padEnd(4096, '.'), 1024), 'e1', 3000);
  assert.ok(index.size <= 100);
});

test('placed blocks are pending until their request completes: computed-only matches skip them', () => {
  const index = new PrefixIndex({ maxBlocks: 100, maxBytes: 1 << 20, ttlMs: 1000 }, () => 0);
  const h = chainedBlockHashes('t'.repeat(4 * 1024), 1024);
  index.record(h, 'e1', 0);
  assert.equal(index.matchLengths(h, ['e1'], 10).get('e1'), 4, 'counted by default');
  assert.equal(index.matchLengths(h, ['e1'], 10, true).get('e1'), undefined, 'not computed yet');
  index.confirm(h.slice(0, 3), 'e1', 20);
  assert.equal(index.matchLengths(h, ['e1'], 30, true).get('e1'), 3);
  index.record(h, 'e1', 40);
  assert.equal(
    index.matchLengths(h, ['e1'], 50, true).get('e1'),
    3,
    'a computed block stays computed when placed again',
  );
  assert.equal(index.matchLengths(h, ['e1'], 1030, true).get('e1'), 3, 'refreshed by the placement');
  assert.equal(index.matchLengths(h, ['e1'], 1500).get('e1'), undefined, 'pending ones age out too');
  index.confirm(h, 'e2', 60);
  assert.equal(index.matchLengths(h, ['e2'], 70).get('e2'), undefined, 'confirming adds no holder');
});

/** The per-block set walk matchLengths replaced, kept as the reference it must agree with. */
function referenceMatchLengths(
  holdersOf: (hash: number) => ReadonlyMap<string, number> | undefined,
  hashes: readonly number[],
  candidates: readonly string[],
  live: (at: number | undefined) => boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  let alive = new Set(candidates);
  for (let i = 0; i < hashes.length && alive.size > 0; i++) {
    const holders = holdersOf(hashes[i] as number);
    if (!holders) break;
    const next = new Set<string>();
    if (holders.size < alive.size) {
      for (const [ep, at] of holders)
        if (alive.has(ep) && live(at)) {
          next.add(ep);
          out.set(ep, i + 1);
        }
    } else {
      for (const ep of alive)
        if (live(holders.get(ep))) {
          next.add(ep);
          out.set(ep, i + 1);
        }
    }
    alive = next;
  }
  return out;
}

test('matchLengths agrees with the per-block set walk', () => {
  const random = seededRandom(7);
  const ttlMs = 1000;
  let partial = 0;
  for (let round = 0; round < 300; round++) {
    let now = 0;
    const index = new PrefixIndex({ maxBlocks: 10_000, maxBytes: 1 << 24, ttlMs }, () => now);
    // The reference reads the index's own holders (its idle expiry included).
    const blockMap = (index as unknown as { blocks: { peek(h: number): Map<string, number> | undefined } })
      .blocks;
    const endpoints = Array.from({ length: 1 + Math.floor(random() * 12) }, (_, i) => `e${i}`);
    const blocks = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => 1000 + i);
    for (let step = 0; step < 30; step++) {
      now += Math.floor(random() * 200);
      const ep = endpoints[Math.floor(random() * endpoints.length)] as string;
      const upTo = blocks.slice(0, 1 + Math.floor(random() * blocks.length));
      // Some blocks skipped: holders that miss a middle block.
      const hashes = upTo.filter(() => random() > 0.1);
      if (random() < 0.6) index.record(hashes, ep, now);
      else index.confirm(hashes, ep, now);
    }
    now += Math.floor(random() * 600);
    const candidates = endpoints.filter(() => random() > 0.3);
    if (random() < 0.2) candidates.push(...candidates.slice(0, 2)); // duplicates
    for (const computedOnly of [false, true]) {
      const live = (at: number | undefined): boolean =>
        at !== undefined && (at >= 0 ? now - at <= ttlMs : !computedOnly && now + at + 1 <= ttlMs);
      const expected = referenceMatchLengths((h) => blockMap.peek(h), blocks, candidates, live);
      const actual = index.matchLengths(blocks, candidates, now, computedOnly);
      assert.deepEqual(actual, expected, `round ${round}, computedOnly ${computedOnly}`);
      if (new Set(actual.values()).size > 1) partial++;
    }
  }
  assert.ok(partial > 50, `endpoints with different match lengths in ${partial} lookups`);
});
