// jsonValueBytes: the heap cost of a parsed body, upper-estimated per node (its constants are
// measured by bench/src/cardinality/json-cost.ts, run by bench/test/held-cost.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  JSON_ARRAY_BYTES,
  JSON_NEW_KEY_BYTES,
  JSON_NUMBER_BYTES,
  JSON_OBJECT_BYTES,
  JSON_SLOT_BYTES,
  jsonValueBytes,
  stringBytes,
} from '../src/bounded/memory-cost.js';

test('counts each node, a property name once per value, numbers only off the small-integer range', () => {
  assert.equal(jsonValueBytes(null), 0);
  assert.equal(jsonValueBytes(7), 0);
  assert.equal(jsonValueBytes(0.5), JSON_NUMBER_BYTES);
  assert.equal(jsonValueBytes('hi'), stringBytes('hi'));
  assert.equal(jsonValueBytes([]), JSON_ARRAY_BYTES);
  assert.equal(jsonValueBytes([true, null]), JSON_ARRAY_BYTES + 2 * JSON_SLOT_BYTES);
  const key = JSON_NEW_KEY_BYTES + stringBytes('a');
  assert.equal(jsonValueBytes({ a: 1 }), JSON_OBJECT_BYTES + JSON_SLOT_BYTES + key);
  // The second object's `a` reuses the first's hidden class and name.
  assert.equal(
    jsonValueBytes([{ a: 1 }, { a: 2 }]),
    JSON_ARRAY_BYTES + 2 * JSON_SLOT_BYTES + 2 * (JSON_OBJECT_BYTES + JSON_SLOT_BYTES) + key,
  );
});

test('a prompt costs about its text; structure far more than its text', () => {
  const prompt = JSON.parse(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }));
  assert.ok(jsonValueBytes(prompt) < 11_000, 'within 10% of its text');
  const text = JSON.stringify({ m: Array.from({ length: 1000 }, () => ({})) });
  assert.ok(jsonValueBytes(JSON.parse(text)) > 20 * text.length);
});

test('a 100k-deep body is walked without exhausting the stack', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
  assert.equal(jsonValueBytes(deep), 100_000 * JSON_ARRAY_BYTES + 99_999 * JSON_SLOT_BYTES);
});
