import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashBytes } from '../../src/prompt/byte-hash.js';
import { chainedBlockHashes, promptBlockHashes, promptText } from '../../src/prompt/prefix-hash.js';

/**
 * The definition, spelled out slowly: the text's code units as little-endian bytes, full
 * blocks of `blockChars` units, each hash seeded with the last.
 */
function reference(text: string, blockChars: number, maxBlocks = 4096): number[] {
  const bytes = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    bytes[2 * i] = text.charCodeAt(i) & 0xff;
    bytes[2 * i + 1] = text.charCodeAt(i) >>> 8;
  }
  const blockBytes = blockChars * 2;
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
  const sharedBlocks = Math.floor(shared.length / 256);
  assert.equal(a.length, b.length);
  assert.equal(firstDifference(a, b), sharedBlocks, 'equal up to the block holding the change');
  for (let i = sharedBlocks; i < a.length; i++) assert.notEqual(a[i], b[i], `block ${i} differs`);
  assert.equal(new Set(a).size, a.length, 'the repeated text still gives distinct chained hashes');
  assert.deepEqual(chainedBlockHashes(`${shared}A${'tail '.repeat(300)}`, 256), a, 'same text, same hashes');
});

test('blocks count characters, not UTF-8 bytes; a character split across a boundary counts in both', () => {
  // 'é' is 2 bytes in UTF-8 and '中' 3, one character each: a multi-byte character at a
  // block's end is whole in that block, and the next block starts after it.
  assert.equal(chainedBlockHashes('é'.repeat(1024), 1024).length, 1);
  assert.equal(chainedBlockHashes('中'.repeat(2048), 1024).length, 2);
  const e1 = chainedBlockHashes(`${'x'.repeat(1023)}é${'y'.repeat(1100)}`, 1024);
  const e2 = chainedBlockHashes(`${'x'.repeat(1023)}è${'y'.repeat(1100)}`, 1024);
  const e3 = chainedBlockHashes(`${'x'.repeat(1023)}é${'z'.repeat(1100)}`, 1024);
  assert.notEqual(e1[0], e2[0], 'the last character of block 0 differs');
  assert.equal(e1[0], e3[0], 'block 0 is whole before the next character');
  assert.notEqual(e1[1], e3[1]);
  // A character outside the BMP is two code units: 😀 and 😁 share the first, split 1 + 1.
  const f1 = chainedBlockHashes(`${'x'.repeat(1023)}😀${'y'.repeat(1100)}`, 1024);
  const f2 = chainedBlockHashes(`${'x'.repeat(1023)}😁${'y'.repeat(1100)}`, 1024);
  assert.equal(f1[0], f2[0]);
  assert.notEqual(f1[1], f2[1]);
  // The hashes are of the text, not of how the body spelled it: raw UTF-8 or JSON escapes.
  const raw = Buffer.from(
    JSON.stringify({ messages: [{ role: 'user', content: `${'é中😀'.repeat(700)}` }] }),
  );
  const escaped = Buffer.from(
    raw.toString().replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  assert.notDeepEqual(escaped, raw);
  const parse = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(promptBlockHashes(parse(escaped), 64), promptBlockHashes(parse(raw), 64));
  assert.equal(promptBlockHashes(parse(raw), 64).length, Math.floor((4 + 1 + 2800) / 64));
});

test('the fast path is the definition: any text, block size, cap and buffer reuse', () => {
  const texts = [
    'a'.repeat(200 * 1024),
    'é'.repeat(100_000),
    '中文提示'.repeat(5000) + 'tail',
    `lone \ud800 surrogate \udc00 halves ${'z'.repeat(3000)}`,
    'x'.repeat(3 * 1024 * 1024 + 5), // past the kept buffer's size
    'é'.repeat(700_000), // 1.4 MB of code units: grows past the kept buffer
    'short',
  ];
  for (const text of texts) {
    for (const [blockChars, maxBlocks] of [
      [1024, 4096],
      [64, 1 << 16],
      [1001, 4096], // blocks of 2,002 bytes: unaligned ones take the byte path
      [1024, 3], // capped mid-text
      [7, 50],
    ] as const) {
      assert.deepEqual(
        chainedBlockHashes(text, blockChars, maxBlocks),
        reference(text, blockChars, maxBlocks),
        `${text.slice(0, 8)}… ${blockChars}x${maxBlocks}`,
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
    [3895348570362098, 1630352369766416],
  );
  assert.deepEqual(
    chainedBlockHashes('Pythia prefix blocks: 前缀 ✓ '.repeat(8), 64),
    [7627591354687003, 7725997096954977, 676018159003936],
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
    for (const [blockChars, maxBlocks] of [
      [64, 4096],
      [1024, 4096],
      [256, 2],
    ] as const) {
      assert.deepEqual(
        promptBlockHashes(body, blockChars, maxBlocks),
        chainedBlockHashes(promptText(body), blockChars, maxBlocks),
      );
    }
  }
  assert.ok(promptBlockHashes(bodies[0] as Record<string, unknown>, 64).length > 40);
});
