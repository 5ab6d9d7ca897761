import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../../bench/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../../bench/src/workloads/synthesize-traces.js';
import { type SessionPosition, forecast } from '../../src/core/autoscaler/forecast.js';
import {
  type PoolCapacity,
  type ScaleState,
  replicaTarget,
} from '../../src/core/autoscaler/replica-target.js';
import { buildOffline } from '../../src/core/offline-build.js';
import { IndexedModel } from '../../src/core/predictor.js';
import { CORE_CONFIG } from '../support.js';

const model = new IndexedModel(
  buildOffline(synthesizeTraces(codingWorkload({ sessions: 120, ratePerS: 1, seed: 9 })), CORE_CONFIG)
    .models[0]!,
);
const models = new Map([['coding', model]]);
const settings = { horizonS: 120, bucketS: 5, maxStages: 4, minProbability: 0.05, perRequestTokensPerS: 60 };
const capacity: PoolCapacity = {
  prefillTokensPerS: 30_000,
  decodeTokensPerS: 3_000,
  minReplicas: 1,
  maxReplicas: 16,
  modelLoadS: 60,
  scaleDownDelayS: 120,
  targetUtilisation: 0.8,
};

test('a burst of sessions finishing their planner projects the explorer fan-out onto the pool', () => {
  const burst: SessionPosition[] = Array.from({ length: 40 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'llama',
    running: false,
  }));
  // One stage ahead: exactly the explorers, right after the planner's short tool time.
  const next = forecast(burst, models, { ...settings, maxStages: 1 }).get('llama');
  assert.ok(next);
  const width = model.model.roles.find((r) => r.role === 'explorer')?.meanWidth ?? 0;
  const explorer = model.agent('explorer');
  assert.ok(width > 3 && width < 4);
  assert.ok(Math.abs((next.prefillTokens[0] ?? 0) - 40 * width * (explorer?.promptTokensMean ?? 0)) < 1);
  assert.ok(Math.abs((next.decodeTokens[0] ?? 0) - 40 * width * (explorer?.outputP50 ?? 0)) < 1);
  assert.ok(next.decodeTokens.slice(1).every((d) => d === 0));
  // Further ahead, the engineer loop's work lands in later buckets.
  const f = forecast(burst, models, settings).get('llama');
  assert.ok(f && f.decodeTokens.slice(2).some((d) => d > 0));
  assert.equal(forecast(burst, new Map(), settings).size, 0, 'no model, no forecast');
});

test('the target rises before the fan-out requests arrive, then drains down after the delay', () => {
  const burst: SessionPosition[] = Array.from({ length: 60 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'llama',
    running: false,
  }));
  const state: ScaleState = { lowSinceS: null };
  const quietLive = { current: 2, waiting: 0, running: 2, requestsPerReplica: 32, kvUsage: 0.1 };
  const up = replicaTarget(
    forecast(burst, models, settings).get('llama'),
    settings.bucketS,
    quietLive,
    capacity,
    state,
    0,
  );
  assert.ok(up.target > 2, `forecast raises the target with an idle queue: ${JSON.stringify(up)}`);
  assert.match(up.reason, /forecast/);
  // Nothing projected and nothing waiting: hold for the delay, then scale down to the minimum.
  const idle = { current: up.target, waiting: 0, running: 0, requestsPerReplica: 32, kvUsage: 0 };
  assert.equal(replicaTarget(undefined, 5, idle, capacity, state, 10).target, up.target);
  assert.equal(replicaTarget(undefined, 5, idle, capacity, state, 100).reason, 'holding: scale-down delay');
  const down = replicaTarget(undefined, 5, idle, capacity, state, 200);
  assert.equal(down.target, capacity.minReplicas);
  // Requests waiting block a scale-down; a queue alone scales up (the reactive signal).
  assert.equal(
    replicaTarget(undefined, 5, { ...idle, waiting: 3 }, capacity, { lowSinceS: 0 }, 500).target,
    idle.current,
  );
  assert.equal(
    replicaTarget(
      undefined,
      5,
      { current: 1, waiting: 90, running: 32, requestsPerReplica: 32, kvUsage: 0.5 },
      capacity,
      { lowSinceS: null },
      0,
    ).target,
    4,
  );
  // KV pressure alone: 4 replicas at 95% KV usage want ceil(4 x 0.95 / 0.8) = 5.
  const kv = replicaTarget(
    undefined,
    5,
    { current: 4, waiting: 0, running: 4, requestsPerReplica: 32, kvUsage: 0.95 },
    capacity,
    { lowSinceS: null },
    0,
  );
  assert.equal(kv.target, 5);
  assert.equal(kv.reason, 'reactive: queue or KV pressure');
});
