import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Prediction } from '../../core/src/workflow/predictor.js';
import { bodyWithPriority, requestPriority } from '../src/core/routing/priority.js';

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

test('the body gets the field spliced in, or replaced when the client sent one', () => {
  const body = Buffer.from('{"model":"m","messages":[]}');
  const spliced = bodyWithPriority(body, JSON.parse(body.toString()), 7);
  assert.equal(spliced.toString(), '{"priority":7,"model":"m","messages":[]}');
  const spoofed = Buffer.from('{"model":"m","priority":-100}');
  assert.deepEqual(JSON.parse(bodyWithPriority(spoofed, JSON.parse(spoofed.toString()), 7).toString()), {
    model: 'm',
    priority: 7,
  });
});
