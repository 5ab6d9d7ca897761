import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundRobinPicker } from '../../src/core/scheduling/plugins/round-robin-picker.js';
import { sequence } from './helpers.js';

test('takes candidates in turn whatever their scores', () => {
  const picker = roundRobinPicker();
  const picks = Array.from({ length: 4 }, () => picker.pick([9, 0, 0], 1, sequence(0))[0]);
  assert.deepEqual(picks, [0, 1, 2, 0]);
});
