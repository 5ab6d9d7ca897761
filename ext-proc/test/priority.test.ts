import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Prediction } from '../../core/src/workflow/predictor.js';
import { agedFrom, enginePriority, requestPriority } from '../src/core/routing/priority.js';

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
const weights = { remainingWeight: 1, unblockWeight: 0.5, agingBoundMs: 0, sessionAgeCapMs: 0 };

test('nearer the end and gating the next stage run first (lower value, as vLLM)', () => {
  const last = requestPriority(prediction(0), true, weights);
  const early = requestPriority(prediction(8), false, weights);
  const gating = requestPriority(prediction(8), true, weights);
  assert.equal(last, 0);
  assert.ok(gating < early, `${gating} < ${early}`);
  assert.ok(early <= 100 && early > 60);
});

test('aged engine priority: urgency orders requests within the bound, arrival order beyond it', () => {
  const t0 = Date.UTC(2026, 5, 1);
  const bound = 30_000;
  const urgentLater = enginePriority(0, t0 + 20_000, bound);
  const lazyFirst = enginePriority(100, t0, bound);
  assert.ok(urgentLater < lazyFirst, 'arriving 20 s later, within the 30 s bound, the urgent one goes first');
  const urgentTooLate = enginePriority(0, t0 + 30_400, bound);
  assert.ok(urgentTooLate > lazyFirst, 'past the bound (plus its 1% rounding) it no longer overtakes');
  for (let i = 0; i < 200; i++) {
    const a = (i * 7919) % 100;
    const b = (i * 104_729) % 101;
    const late = enginePriority(b, t0 + 1_000 + bound * 1.01 + i * 13, bound);
    assert.ok(
      late > enginePriority(a, t0 + 1_000, bound),
      `urgency ${b} never overtakes ${a} past the bound`,
    );
  }
  assert.equal(enginePriority(42, t0, 0), 42, 'no aging: the urgency alone');
  assert.ok(Number.isSafeInteger(lazyFirst));
});

test('aged from the session start, at most the cap before the arrival; the arrival without a session', () => {
  const t0 = Date.UTC(2026, 5, 1);
  const cap = 600_000;
  assert.equal(agedFrom(t0 + 5_000, null, cap), t0 + 5_000);
  assert.equal(agedFrom(t0 + 200_000, t0, cap), t0, 'within the cap: the session start');
  assert.equal(agedFrom(t0 + 900_000, t0, cap), t0 + 300_000, 'past it: the cap before the arrival');
  assert.equal(agedFrom(t0 + 200_000, t0, 0), t0 + 200_000, 'cap 0: the arrival (per-request aging)');
  assert.equal(agedFrom(t0, t0 + 1, cap), t0, 'never after the arrival (clocks of two replicas)');
  // No starvation: whatever the sessions, a request arriving more than cap + bound after
  // another never overtakes it.
  const bound = 30_000;
  for (let i = 0; i < 200; i++) {
    const arrival = t0 + ((i * 7919) % 1_000_000);
    const early = enginePriority(
      (i * 31) % 101,
      agedFrom(arrival, arrival - ((i * 104_729) % 2_000_000), cap),
      bound,
    );
    const lateArrival = arrival + cap + bound * 1.01 + 1;
    const late = enginePriority((i * 17) % 101, agedFrom(lateArrival, t0 - 5_000_000, cap), bound);
    assert.ok(late > early, `case ${i}`);
  }
});
