// What an entry really costs on the V8 heap (Node 20, 64-bit, pointer compression), for the
// byte bounds of the bounded tables. An empty string is not free: every string carries a
// header, every object a map word and its fields, and every Map entry its hash-table slots.
// Each table's fixed per-entry constant sits next to the table and was measured with
// `npm run bench:cardinality -- --measure` (heap used after a full GC, over 100k entries,
// minus the strings counted here); rerun it when an entry's shape changes.

/** Bytes of a sequential string: a 12-byte header plus its characters, rounded up to 8. */
export function stringBytes(s: string): number {
  const chars = ONE_BYTE.test(s) ? s.length : 2 * s.length;
  return (12 + chars + 7) & ~7;
}

// Latin-1 only: V8 stores such strings one byte per character.
const ONE_BYTE = /^[\u0000-\u00ff]*$/;
