import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxScorePicker as maxScorePickerPlugin } from '../../src/core/scheduling/plugins/max-score-picker.js';
import { sequence } from './helpers.js';

const maxScorePicker = maxScorePickerPlugin.create({});

test('picks the highest totals first', () => {
  assert.deepEqual(maxScorePicker.pick([0.2, 0.9, 0.5], 2, sequence(0)), [1, 2]);
});

test('breaks ties with the injected randomness', () => {
  assert.deepEqual(maxScorePicker.pick([1, 1], 1, sequence(0.9, 0.1)), [0]);
  assert.deepEqual(maxScorePicker.pick([1, 1], 1, sequence(0.1, 0.9)), [1]);
  assert.deepEqual(
    maxScorePicker.pick([0.5, 1, 1, 0.2], 3, sequence(0.1, 0.2, 0.9, 0.5)),
    [2, 1, 0],
    'ties first by jitter, then the rest',
  );
});
