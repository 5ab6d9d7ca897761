import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyHeaderMutation, type HeaderList } from '../src/header-mutation.js';

const raw = (key: string, value: string, append?: boolean) => ({
  header: { key, raw_value: Buffer.from(value) },
  ...(append === undefined ? {} : { append: { value: append } }),
});

test('removals run before sets; append unset overwrites', () => {
  const headers: HeaderList = [
    ['a', '1'],
    ['b', '2'],
    ['b', '3'],
  ];
  const r = applyHeaderMutation(headers, {
    remove_headers: ['A'],
    set_headers: [raw('a', 'new'), raw('b', 'x')],
  });
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(headers, [
    ['a', 'new'],
    ['b', 'x'],
  ]);
});

test('append true adds a value', () => {
  const headers: HeaderList = [['b', '2']];
  applyHeaderMutation(headers, { set_headers: [raw('b', '3', true)] });
  assert.deepEqual(headers, [
    ['b', '2'],
    ['b', '3'],
  ]);
});

test('a value sent in `value` only arrives empty; both value and raw_value fail the request', () => {
  const headers: HeaderList = [];
  applyHeaderMutation(headers, { set_headers: [{ header: { key: 'x', value: 'text' } }] });
  assert.deepEqual(headers, [['x', '']]);
  const both = applyHeaderMutation([], {
    set_headers: [{ header: { key: 'x', value: 'a', raw_value: Buffer.from('a') } }],
  });
  assert.equal(both.ok, false);
});

test('protected headers are silently left alone', () => {
  const headers: HeaderList = [
    [':method', 'POST'],
    ['host', 'h'],
    [':path', '/p'],
  ];
  const r = applyHeaderMutation(headers, {
    remove_headers: [':path', 'host'],
    set_headers: [
      raw(':authority', 'evil'),
      raw('x-envoy-original-path', 'z'),
      raw(':method', 'GET'),
      raw('host', 'evil'),
    ],
  });
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(headers, [
    [':method', 'POST'],
    ['host', 'h'],
    [':path', '/p'],
  ]);
});

test('CR or LF in a value fails the request', () => {
  assert.equal(applyHeaderMutation([], { set_headers: [raw('x', 'a\r\nb: c')] }).ok, false);
});
