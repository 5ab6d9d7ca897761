import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashBytes } from '../../src/prompt/byte-hash.js';
import { chainedBlockHashes, promptBlockHashes, promptText } from '../../src/prompt/prefix-hash.js';

/** The definition, spelled out slowly: UTF-8 of the whole text, full blocks, each seeded with the last. */
function reference(text: string, blockBytes: number, maxBlocks = 4096): number[] {
  const bytes = new TextEncoder().encode(text);
  const out: number[] = [];
  let previous = 0;
  for (let i = 0; i < maxBlocks && (i + 1) * blockBytes <= bytes.length; i++) {
    previous = hashBytes(bytes, i * blockBytes, (i + 1) * blockBytes, previous);
    out.push(previous);
  }
  return out;
}

/** Index of the first element where the two lists differ (their common length if none). */
function firstDifference(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

test('equal prefixes give equal hashes; a changed block changes every hash from it on', () => {
  const shared = 'fn main() { println!("héllo wörld ✓"); }\n'.repeat(60); // multi-byte throughout
  const a = chainedBlockHashes(`${shared}A${'tail '.repeat(300)}`, 256);
  const b = chainedBlockHashes(`${shared}B${'tail '.repeat(300)}`, 256);
  const sharedBlocks = Math.floor(new TextEncoder().encode(shared).length / 256);
  assert.equal(a.length, b.length);
  assert.equal(firstDifference(a, b), sharedBlocks, 'equal up to the block holding the change');
  for (let i = sharedBlocks; i < a.length; i++) assert.notEqual(a[i], b[i], `block ${i} differs`);
  assert.equal(new Set(a).size, a.length, 'the repeated text still gives distinct chained hashes');
  assert.deepEqual(chainedBlockHashes(`${shared}A${'tail '.repeat(300)}`, 256), a, 'same text, same hashes');
});

test('blocks are UTF-8 bytes: a character split across a block boundary counts in both blocks', () => {
  // 'é' is C3 A9 and 'è' C3 A8: with 1023 ASCII bytes before, block 0 ends with their shared first byte.
  const e1 = chainedBlockHashes(`${'x'.repeat(1023)}é${'y'.repeat(1100)}`, 1024);
  const e2 = chainedBlockHashes(`${'x'.repeat(1023)}è${'y'.repeat(1100)}`, 1024);
  assert.equal(e1.length, 2);
  assert.equal(e1[0], e2[0], 'block 0 holds only the shared lead byte');
  assert.notEqual(e1[1], e2[1], 'the differing continuation byte is in block 1');
  // A 4-byte character (a surrogate pair in the string) split 2 + 2.
  const f1 = chainedBlockHashes(`${'x'.repeat(1022)}😀${'y'.repeat(1100)}`, 1024);
  const f2 = chainedBlockHashes(`${'x'.repeat(1022)}😁${'y'.repeat(1100)}`, 1024);
  assert.equal(f1[0], f2[0]);
  assert.notEqual(f1[1], f2[1]);
  assert.equal(chainedBlockHashes('é'.repeat(1024), 1024).length, 2, '2,048 bytes, 1,024 characters');
  for (const text of [
    `${'x'.repeat(1023)}é${'y'.repeat(1100)}`,
    `${'x'.repeat(1022)}😀${'y'.repeat(1100)}`,
  ]) {
    assert.deepEqual(chainedBlockHashes(text, 1024), reference(text, 1024));
  }
});

test('the fast path is the definition: any text, block size, cap and buffer reuse', () => {
  const texts = [
    'a'.repeat(200 * 1024),
    'é'.repeat(100_000), // grows past the one-byte-per-character first guess
    '中文提示'.repeat(5000) + 'tail',
    `lone \ud800 surrogate \udc00 halves ${'z'.repeat(3000)}`,
    'x'.repeat(3 * 1024 * 1024 + 5), // past the kept buffer's size
    'é'.repeat(700_000), // 1.4 MB: grows, keeping what it wrote, past the kept buffer's size
    'short',
  ];
  for (const text of texts) {
    for (const [blockBytes, maxBlocks] of [
      [1024, 4096],
      [64, 1 << 16],
      [1000, 4096], // not a multiple of 4: unaligned blocks take the byte path
      [1024, 3], // capped mid-text, possibly mid-character
      [7, 50],
    ] as const) {
      assert.deepEqual(
        chainedBlockHashes(text, blockBytes, maxBlocks),
        reference(text, blockBytes, maxBlocks),
        `${text.slice(0, 8)}… ${blockBytes}x${maxBlocks}`,
      );
    }
  }
});

test('the word path, the byte path and an unaligned copy agree', () => {
  const bytes = new TextEncoder().encode('The quick brown fox — jumps over the lazy dog. '.repeat(40));
  const end = 1024 + 13; // stripes, then leftover words and bytes
  const words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >> 2);
  const shifted = new Uint8Array(end + 1);
  shifted.set(bytes.subarray(0, end), 1);
  const expected = hashBytes(bytes, 0, end, 987654321012345, words);
  assert.equal(hashBytes(bytes, 0, end, 987654321012345), expected);
  assert.equal(hashBytes(shifted, 1, end + 1, 987654321012345), expected);
  assert.notEqual(hashBytes(bytes, 0, end, 987654321012346, words), expected, 'the seed counts');
  assert.ok(Number.isSafeInteger(expected) && expected >= 0);
});

test('values are pinned: every process and host computes these', () => {
  // Replicas share their prefix index, and the bench's engines hash the same way: a change
  // here changes every stored hash (say so in the change that makes it).
  assert.deepEqual(
    chainedBlockHashes('0123456789abcdef'.repeat(8), 64),
    [6350164402606941, 8195220549708987],
  );
  assert.deepEqual(
    chainedBlockHashes('Pythia prefix blocks: 前缀 ✓ '.repeat(8), 64),
    [52607063284577, 6496687635261673, 3855384063965205, 2280971250761380],
  );
});

test('promptBlockHashes hashes the prompt text without building it', () => {
  const bodies: Record<string, unknown>[] = [
    {
      messages: [
        { role: 'system', content: `You are a planner. ${'Règles '.repeat(400)}` },
        {
          role: 'user',
          content: [{ type: 'text', text: 'part one \ud83d' }, { type: 'image' }, { text: '\ude00 two' }],
        },
        { role: 'assistant', content: null },
        'not a message',
        { content: 'no role' },
      ],
    },
    { prompt: `complete ${'this '.repeat(600)}` },
    // The buffer grows while holding the earlier parts.
    {
      messages: [
        { role: 'system', content: 'a'.repeat(1000) },
        { role: 'user', content: 'ü'.repeat(800_000) },
      ],
    },
    { prompt: ['first '.repeat(300), [1, 2, 3], 'second '.repeat(300)] },
    { messages: [] },
    {},
  ];
  for (const body of bodies) {
    for (const [blockBytes, maxBlocks] of [
      [64, 4096],
      [256, 2],
    ] as const) {
      assert.deepEqual(
        promptBlockHashes(body, blockBytes, maxBlocks),
        chainedBlockHashes(promptText(body), blockBytes, maxBlocks),
      );
    }
  }
  assert.ok(promptBlockHashes(bodies[0] as Record<string, unknown>, 64).length > 50);
});
