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

/** A parsed JSON object besides its properties (an empty one from JSON.parse has slack slots). */
export const JSON_OBJECT_BYTES = 64;
/** A parsed JSON array besides its elements. */
export const JSON_ARRAY_BYTES = 40;
/** One property or element slot (a double array's unboxed element included). */
export const JSON_SLOT_BYTES = 8;
/** A property name the value has not used before: its internalized string plus a hidden class for it. */
export const JSON_NEW_KEY_BYTES = 104;
/** A number that is not a small integer (a heap number). */
export const JSON_NUMBER_BYTES = 16;

/**
 * Heap bytes of a value as JSON.parse builds it, an upper estimate: structure costs far more
 * than its text (an empty object is 2 characters and about 60 bytes parsed, a property name
 * seen for the first time brings a hidden class), prompt text about a byte a character.
 * Measured per shape with `node --expose-gc --import tsx bench/src/cardinality/json-cost.ts`.
 * Iterative: a deeply nested body cannot exhaust the stack.
 */
export function jsonValueBytes(value: unknown): number {
  let bytes = 0;
  const keys = new Set<string>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += stringBytes(v);
    else if (typeof v === 'number') {
      if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 30) bytes += JSON_NUMBER_BYTES;
    } else if (Array.isArray(v)) {
      bytes += JSON_ARRAY_BYTES + JSON_SLOT_BYTES * v.length;
      for (const item of v) if (item !== null && typeof item !== 'boolean') stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      bytes += JSON_OBJECT_BYTES;
      for (const [key, item] of Object.entries(v)) {
        bytes += JSON_SLOT_BYTES;
        if (!keys.has(key)) {
          keys.add(key);
          bytes += JSON_NEW_KEY_BYTES + stringBytes(key);
        }
        if (item !== null && typeof item !== 'boolean') stack.push(item);
      }
    }
  }
  return bytes;
}
