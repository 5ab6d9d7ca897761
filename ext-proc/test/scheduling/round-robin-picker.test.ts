import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundRobinPicker } from '../../src/core/scheduling/plugins/round-robin-picker.js';
import { sequence } from './helpers.js';

test('takes candidates in turn whatever their scores', () => {
  const picker = roundRobinPicker.create({});
  const picks = Array.from({ length: 4 }, () => picker.pick([9, 0, 0], 1, sequence(0))[0]);
  assert.deepEqual(picks, [0, 1, 2, 0]);
});

test('each instance keeps its own turn (one per profile)', () => {
  const a = roundRobinPicker.create({});
  const b = roundRobinPicker.create({});
  a.pick([0, 0, 0], 1, sequence(0));
  assert.deepEqual(b.pick([0, 0, 0], 1, sequence(0)), [0]);
  assert.deepEqual(a.pick([0, 0, 0], 2, sequence(0)), [1, 2]);
});
