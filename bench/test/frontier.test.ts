import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareToFrontier, gpuAtP95, p95AtGpu, paretoFrontier } from '../src/runner/frontier.js';

const point = (label: string, gpuSeconds: number, p95S: number) => ({ label, gpuSeconds, p95S });
// A reactive scaler at three scale-down windows: more GPU buys a lower p95; one dominated point.
const reactive = [
  point('15s', 4000, 300),
  point('300s', 8000, 200),
  point('60s', 6000, 260),
  point('bad', 7000, 280),
];

test('the frontier drops dominated settings and orders by cost', () => {
  assert.deepEqual(
    paretoFrontier(reactive).map((p) => p.label),
    ['15s', '60s', '300s'],
  );
});

test('reads the frontier at a p95 and at a cost, never outside the measured range', () => {
  const f = paretoFrontier(reactive);
  assert.equal(gpuAtP95(f, 280), 5000);
  assert.equal(gpuAtP95(f, 230), 7000);
  assert.equal(p95AtGpu(f, 5000), 280);
  assert.equal(gpuAtP95(f, 320), null);
  assert.equal(gpuAtP95(f, 150), null);
  assert.equal(p95AtGpu(f, 9000), null);
  assert.equal(gpuAtP95([point('one', 100, 10)], 10), 100);
});

test('a candidate below the frontier saves GPU-seconds at its p95 and wins p95 at its cost', () => {
  const c = compareToFrontier(point('forecast', 5600, 230), reactive);
  assert.ok(Math.abs((c.gpuSavingAtEqualP95 ?? 0) - 0.2) < 1e-9, 'needs 7000 at p95 230');
  assert.ok(Math.abs((c.p95RatioAtEqualGpu ?? 0) - 268 / 230) < 1e-9, 'the frontier has p95 268 at 5600');
  const worse = compareToFrontier(point('worse', 7000, 260), reactive);
  assert.ok((worse.gpuSavingAtEqualP95 ?? 0) < 0 && (worse.p95RatioAtEqualGpu ?? 2) < 1);
  const cheapAndSlow = compareToFrontier(point('cheap', 1000, 900), reactive);
  assert.equal(cheapAndSlow.p95RatioAtEqualGpu, null);
  assert.equal(cheapAndSlow.p95RatioLowerBound, null, 'cheaper but slower: no bound');
  // Cheaper than every setting and faster than the cheapest: a bound, read at that setting.
  const dominant = compareToFrontier(point('dominant', 3000, 240), reactive);
  assert.equal(dominant.p95RatioAtEqualGpu, null);
  assert.equal(dominant.p95RatioLowerBound, 300 / 240);
  assert.ok(Math.abs((dominant.gpuSavingAtEqualP95 ?? 0) - (1 - 3000 / (6000 + (20 / 60) * 2000))) < 1e-6);
  const fastest = compareToFrontier(point('fastest', 7000, 150), reactive);
  assert.equal(fastest.gpuSavingAtEqualP95, null);
  assert.equal(fastest.gpuSavingLowerBound, 1 - 7000 / 8000);
});
