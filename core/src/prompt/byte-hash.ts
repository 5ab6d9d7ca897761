// A 53-bit hash over a byte range, fast enough for every request's whole prompt: four
// 32-bit lanes take one little-endian word each per 16-byte stripe (the stripe loop of
// xxHash32, whose constants these are), so the loop is four independent multiply-rotate
// chains with no per-byte work. Rotations carry high bits down, so a change anywhere in a
// word reaches every output bit. Values depend only on the bytes and the seed, never on
// the host: a big-endian host or an unaligned range takes the byte-assembling path, which
// gives the same words.

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

/** Whether an Int32Array reads the little-endian words the hash is defined on. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function wordAt(bytes: Uint8Array, i: number): number {
  return (
    (bytes[i] as number) |
    ((bytes[i + 1] as number) << 8) |
    ((bytes[i + 2] as number) << 16) |
    ((bytes[i + 3] as number) << 24)
  );
}

function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return h ^ (h >>> 16);
}

/**
 * Hash of `bytes[start, end)` seeded with a previous hash (any integer below 2^53).
 * `words`, when given, is an Int32Array over the same memory as `bytes` from the same
 * offset, used for 4-aligned starts on a little-endian host; the result is the same without it.
 */
export function hashBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  seed: number,
  words: Int32Array | null = null,
): number {
  const lo = seed | 0;
  const hi = Math.floor(seed / 0x100000000) | 0;
  let a = (lo + P1 + P2) | 0;
  let b = (hi + P2) | 0;
  let c = lo ^ P3;
  let d = (hi - P1) | 0;
  const stripesEnd = start + ((end - start) & ~15);
  if (words !== null && LITTLE_ENDIAN && (start & 3) === 0) {
    for (let w = start >> 2, wEnd = stripesEnd >> 2; w < wEnd; w += 4) {
      a = Math.imul(rotl((a + Math.imul(words[w] as number, P2)) | 0, 13), P1);
      b = Math.imul(rotl((b + Math.imul(words[w + 1] as number, P2)) | 0, 13), P1);
      c = Math.imul(rotl((c + Math.imul(words[w + 2] as number, P2)) | 0, 13), P1);
      d = Math.imul(rotl((d + Math.imul(words[w + 3] as number, P2)) | 0, 13), P1);
    }
  } else {
    for (let i = start; i < stripesEnd; i += 16) {
      a = Math.imul(rotl((a + Math.imul(wordAt(bytes, i), P2)) | 0, 13), P1);
      b = Math.imul(rotl((b + Math.imul(wordAt(bytes, i + 4), P2)) | 0, 13), P1);
      c = Math.imul(rotl((c + Math.imul(wordAt(bytes, i + 8), P2)) | 0, 13), P1);
      d = Math.imul(rotl((d + Math.imul(wordAt(bytes, i + 12), P2)) | 0, 13), P1);
    }
  }
  // Two differently combined halves: additive (as xxHash32) and multiplicative.
  let h1 = (rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + (end - start)) | 0;
  let h2 = (Math.imul(a ^ rotl(c, 16), P4) + Math.imul(b ^ rotl(d, 16), P5) + lo) | 0;
  let i = stripesEnd;
  for (; i + 4 <= end; i += 4) {
    const w = wordAt(bytes, i);
    h1 = Math.imul(rotl((h1 + Math.imul(w, P3)) | 0, 17), P4);
    h2 = Math.imul(rotl(h2 ^ Math.imul(w, P1), 15), P2);
  }
  for (; i < end; i++) {
    const v = bytes[i] as number;
    h1 = Math.imul(rotl((h1 + Math.imul(v, P5)) | 0, 11), P1);
    h2 = Math.imul(rotl(h2 ^ Math.imul(v, P3), 13), P4);
  }
  h1 = avalanche(h1);
  h2 = avalanche(h2 ^ h1);
  return 0x100000000 * (h2 & 0x1fffff) + (h1 >>> 0);
}
