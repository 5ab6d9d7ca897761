import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, quantileSorted } from '../src/stats/quantile.js';

test('the value at rank floor(q * n) of the sorted sample', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 3);
  assert.equal(quantileSorted([1, 2, 3, 4], 0), 1);
  assert.equal(quantileSorted([1, 2, 3, 4], 0.99), 4);
  assert.equal(quantileSorted([1, 2, 3, 4], 1), 4, 'q = 1 is the largest, not past the end');
  assert.equal(quantileSorted([10], 0.95), 10);
});

test('unsorted input is sorted numerically (not as strings) and left untouched', () => {
  const values = [10, 9, 100, 1];
  assert.equal(quantile(values, 0.5), 10);
  assert.equal(quantile(values, 0.75), 100);
  assert.deepEqual(values, [10, 9, 100, 1]);
});

test('an empty sample has no quantile', () => {
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
});
