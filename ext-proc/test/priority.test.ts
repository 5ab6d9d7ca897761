import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Prediction } from '../../core/src/workflow/predictor.js';
import { requestPriority } from '../src/core/routing/priority.js';

const prediction = (expectedRemainingStages: number): Prediction => ({
  mode: 'proactive',
  known: true,
  nextAgents: [],
  endProbability: 0,
  expectedRemainingStages,
  expectedRemainingRequests: 0,
  expectedNextFanout: 0,
  outputBound: 100,
});
const weights = { remainingWeight: 1, unblockWeight: 0.5 };

test('nearer the end and gating the next stage run first (lower value, as vLLM)', () => {
  const last = requestPriority(prediction(0), true, weights);
  const early = requestPriority(prediction(8), false, weights);
  const gating = requestPriority(prediction(8), true, weights);
  assert.equal(last, 0);
  assert.ok(gating < early, `${gating} < ${early}`);
  assert.ok(early <= 100 && early > 60);
});
