import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { type SessionPosition, emptyForecast, forecast } from '../../autoscaler/src/core/forecast.js';
import {
  type PoolCapacity,
  type ScaleState,
  replicaTarget,
} from '../../autoscaler/src/core/replica-target.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { IndexedModel } from '../../core/src/workflow/predictor.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { parseConfig } from '../../common/src/config/load.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { AutoscalerLoop } from '../../autoscaler/src/core/autoscaler-loop.js';

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
  forecastScaleDownDelayS: 15,
  targetUtilisation: 0.8,
};

test('a burst of sessions finishing their planner projects the explorer fan-out onto the pool', () => {
  const burst: SessionPosition[] = Array.from({ length: 40 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'llama',
    inFlight: 0,
  }));
  // One stage ahead: exactly the explorers, right after the planner's short tool time.
  const next = forecast(burst, models, { ...settings, maxStages: 1 }).get('llama');
  assert.ok(next);
  const width = model.model.roles.find((r) => r.role === 'explorer')?.meanWidth ?? 0;
  const explorer = model.agent('explorer');
  assert.ok(width > 3 && width < 4);
  // The traces carry no cached counts, so the uncached prompt is the whole prompt.
  assert.equal(explorer?.uncachedPromptTokensMean, explorer?.promptTokensMean);
  assert.ok(Math.abs((next.prefillTokens[0] ?? 0) - 40 * width * (explorer?.promptTokensMean ?? 0)) < 1);
  assert.ok(Math.abs((next.decodeTokens[0] ?? 0) - 40 * width * (explorer?.outputP50 ?? 0)) < 1);
  assert.ok(next.decodeTokens.slice(1).every((d) => d === 0));
  // In flight: 40 x width explorers for their learned duration (under one bucket here).
  const share = (explorer?.durationP50Ms ?? 0) / 1000 / settings.bucketS;
  assert.ok(share > 0 && share < 1);
  assert.ok(Math.abs((next.requests[0] ?? 0) - 40 * width * share) < 0.01);
  assert.equal(next.projectedSessions, 40);
  assert.equal(next.blindSessions, 0);
  // Further ahead, the engineer loop's work lands in later buckets.
  const f = forecast(burst, models, settings).get('llama');
  assert.ok(f && f.decodeTokens.slice(2).some((d) => d > 0));
  const blind = forecast(burst, new Map(), settings).get('llama');
  assert.equal(blind?.blindSessions, 40, 'no model: the sessions are blind');
  assert.ok(blind?.requests.every((r) => r === 0) && blind.decodeTokens.every((d) => d === 0));
  const shadow = new Map([['coding', new IndexedModel({ ...model.model, mode: 'shadow' })]]);
  assert.equal(
    forecast(burst, shadow, settings).get('llama')?.blindSessions,
    40,
    'shadow models are not trusted',
  );
});

test('the target rises before the fan-out requests arrive, then drains down after the delay', () => {
  const burst: SessionPosition[] = Array.from({ length: 60 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'llama',
    inFlight: 0,
  }));
  const state: ScaleState = { lowSinceS: null };
  const quietLive = { current: 2, waiting: 0, running: 2, requestsPerReplica: 32, kvUsage: 0.1 };
  // A replica that loads in 10 s will serve the engineer loop that follows the fan-out.
  const quickLoad = { ...capacity, modelLoadS: 10 };
  const projected = forecast(burst, models, settings).get('llama');
  const up = replicaTarget(projected, settings.bucketS, quietLive, quickLoad, state, 0);
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
  // Informed (every active session projected, here none): the short delay applies.
  const informed: ScaleState = { lowSinceS: null };
  const empty = emptyForecast('llama', settings);
  assert.equal(replicaTarget(empty, 5, idle, capacity, informed, 0).reason, 'holding: scale-down delay');
  const quick = replicaTarget(empty, 5, idle, capacity, informed, capacity.forecastScaleDownDelayS);
  assert.equal(quick.target, capacity.minReplicas);
  assert.match(quick.reason, /no projected need/);
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

test('no scale-up for demand over before a new replica could load; known demand holds replicas', () => {
  const burst: SessionPosition[] = Array.from({ length: 60 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'llama',
    inFlight: 0,
  }));
  const projected = forecast(burst, models, { ...settings, maxStages: 1 }).get('llama');
  assert.ok(projected && (projected.requests[0] ?? 0) > 64, 'the explorer fan-out, within the first bucket');
  // The fan-out is over in seconds; a replica started now would load for 60 s: not worth it.
  const live = { current: 2, waiting: 0, running: 0, requestsPerReplica: 32, kvUsage: 0 };
  const state: ScaleState = { lowSinceS: null };
  const d = replicaTarget(projected, settings.bucketS, live, capacity, state, 0);
  assert.equal(d.forecastReplicas, 0);
  // But the replicas there are kept for it: no scale-down below the known demand.
  assert.equal(d.target, 2);
  assert.equal(d.reason, 'holding: projected need');
  assert.equal(replicaTarget(projected, settings.bucketS, live, capacity, state, 1000).target, 2);
  // A blind session (no promoted model) makes the scaler fall back to the long delay.
  const blind = { ...emptyForecast('llama', settings), blindSessions: 1 };
  const later: ScaleState = { lowSinceS: null };
  replicaTarget(blind, 5, live, capacity, later, 0);
  assert.equal(
    replicaTarget(blind, 5, live, capacity, later, capacity.forecastScaleDownDelayS).reason,
    'holding: scale-down delay',
  );
  assert.match(replicaTarget(blind, 5, live, capacity, later, capacity.scaleDownDelayS).reason, /drained/);
});

test('load the known sessions do not explain (plain traffic) keeps the long scale-down delay', () => {
  const empty = emptyForecast('llama', settings);
  const plain = { current: 4, waiting: 0, running: 10, requestsPerReplica: 32, kvUsage: 0.1 };
  const state: ScaleState = { lowSinceS: null };
  replicaTarget(empty, 5, plain, capacity, state, 0);
  assert.equal(
    replicaTarget(empty, 5, plain, capacity, state, capacity.forecastScaleDownDelayS).reason,
    'holding: scale-down delay',
  );
  assert.match(replicaTarget(empty, 5, plain, capacity, state, capacity.scaleDownDelayS).reason, /drained/);
  // The same load, announced by the sessions in flight: the short delay.
  const known = { ...empty, knownInFlight: 10 };
  const fresh: ScaleState = { lowSinceS: null };
  replicaTarget(known, 5, plain, capacity, fresh, 0);
  assert.match(
    replicaTarget(known, 5, plain, capacity, fresh, capacity.forecastScaleDownDelayS).reason,
    /no projected need/,
  );
});

test("each projected stage lands on its own agent's pool (a multi-model workflow)", () => {
  const burst: SessionPosition[] = Array.from({ length: 20 }, () => ({
    workflow: 'coding',
    roles: ['planner'],
    pool: 'large',
    inFlight: 0,
  }));
  const pools = (_workflow: string, agent: string) => (agent === 'planner' ? 'large' : 'small');
  const f = forecast(burst, models, { ...settings, maxStages: 1 }, pools);
  assert.ok((f.get('small')?.requests[0] ?? 0) > 0, 'the explorers go to the small pool');
  assert.ok(
    f.get('large')?.requests.every((r) => r === 0),
    'nothing projected onto the planner pool',
  );
  assert.equal(f.get('large')?.projectedSessions, 20, 'sessions count where they are now');
  // Unknown agents fall back to the session's current pool: the same work, on it.
  const fallback = forecast(burst, models, { ...settings, maxStages: 1 }, () => undefined);
  assert.deepEqual(fallback.get('large')?.requests, f.get('small')?.requests);
});

test('the autoscaler loop projects the sessions it is told of, in forecast mode only', () => {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    autoscaler: { pools: { llama: { model_load_s: 10 } } },
  });
  const proactive = new IndexedModel({ ...model.model, mode: 'proactive' });
  const feed = (loop: AutoscalerLoop) => {
    for (let i = 0; i < 60; i++) {
      const start = {
        requestId: `r${i}`,
        exchange: `r${i}`,
        workflow: 'coding',
        session: `s${i}`,
        agent: 'planner',
        pool: 'llama',
      };
      loop.started({ ...start, startUnixMs: 0 }, 0);
      loop.ingest(
        { ...start, startUnixMs: 0, endUnixMs: 2000, sessionEnd: false, status: 'OK' } as Trace,
        2000,
      );
    }
  };
  const quiet = new Map([['llama', { current: 2, replicas: [{ waiting: 0, running: 0, kvUsage: 0 }] }]]);
  const forecasting = new AutoscalerLoop(config);
  feed(forecasting);
  const [up] = forecasting.tick(2000, [proactive], quiet).decisions;
  assert.equal(up?.projectedSessions, 60);
  assert.ok((up?.forecastRequests ?? []).some((r) => r > 0));
  assert.ok((up?.target ?? 0) > 2, `the fan-out ahead raises the target: ${JSON.stringify(up)}`);
  assert.match(up?.reason ?? '', /forecast/);
  // The same sessions with a shadow model are blind; the reactive scaler ignores them.
  const unpromoted = new AutoscalerLoop(config);
  feed(unpromoted);
  const shadow = new IndexedModel({ ...model.model, mode: 'shadow' });
  const [blind] = unpromoted.tick(2000, [shadow], quiet).decisions;
  assert.equal(blind?.projectedSessions, 0);
  assert.equal(blind?.blindSessions, 60);
  const reactive = new AutoscalerLoop(config, { mode: 'reactive' });
  feed(reactive);
  const [flat] = reactive.tick(2000, [proactive], quiet).decisions;
  assert.equal(flat?.forecastReplicas, 0);
  assert.equal(flat?.target, 2);
});
