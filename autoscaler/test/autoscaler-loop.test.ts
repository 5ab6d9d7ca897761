// The autoscaler loop reads every setting from the configuration (the service and the
// simulator run it unchanged); these cases have no promoted model, so the live load decides.
// The forecast through the loop is in tests/integration/forecast.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import type { RequestStart } from '../../core/src/wire/request-start.js';
import { AutoscalerLoop, type PoolView } from '../src/core/autoscaler-loop.js';

const config = (extra: Record<string, unknown> = {}) =>
  parseConfig({
    pools: [
      { name: 'big', models: ['big'] },
      { name: 'small', models: ['small'] },
    ],
    ...extra,
  });

const replicas = (n: number, waiting = 0, running = 0) =>
  Array.from({ length: n }, () => ({ waiting, running, kvUsage: 0 }));

const pools = (entries: Array<[string, PoolView]>) => new Map(entries);

const start = (session: string, startUnixMs: number): RequestStart => ({
  requestId: `${session}-r1`,
  exchange: `${session}-r1`,
  workflow: 'coding',
  session,
  agent: 'planner',
  pool: 'small',
  startUnixMs,
});

test("each pool's own settings apply over the defaults", () => {
  const loop = new AutoscalerLoop(
    config({ autoscaler: { pools: { big: { max_replicas: 3, requests_per_replica: 10 } } } }),
  );
  // 200 requests waiting on one replica of each pool.
  const tick = loop.tick(
    0,
    [],
    pools([
      ['big', { current: 1, replicas: replicas(1, 200) }],
      ['small', { current: 1, replicas: replicas(1, 200) }],
    ]),
  );
  const [big, small] = tick.decisions;
  assert.equal(big?.pool, 'big');
  assert.equal(big?.reactiveReplicas, 20, '200 waiting at 10 per replica');
  assert.equal(big?.target, 3, 'capped at the pool max_replicas');
  assert.equal(small?.reactiveReplicas, Math.ceil(200 / 48), 'the default requests_per_replica');
  assert.equal(small?.target, 5);
  assert.equal(small?.current, 1);
  assert.equal(small?.bucketS, 5);
  assert.equal(small?.unixMs, 0);
  assert.match(small?.reason ?? '', /reactive/);
});

test('a pool stays at min_replicas with nothing to do', () => {
  const loop = new AutoscalerLoop(config({ autoscaler: { pools: { small: { min_replicas: 2 } } } }));
  const tick = loop.tick(0, [], pools([['small', { current: 2, replicas: replicas(2) }]]));
  assert.equal(tick.decisions[0]?.target, 2);
});

test('the scale-down delay is kept across ticks: the long one reactive, the short one when informed', () => {
  const settings = config({
    autoscaler: { pools: { small: { scale_down_delay_s: 30, forecast_scale_down_delay_s: 5 } } },
  });
  const idle = pools([['small', { current: 4, replicas: replicas(4) }]]);
  const targets = (loop: AutoscalerLoop, times: number[]) =>
    times.map((t) => loop.tick(t, [], idle).decisions[0]?.target);
  // Reactive: the queue alone cannot tell a lull from the end, so it waits the long delay.
  assert.deepEqual(
    targets(new AutoscalerLoop(settings, { mode: 'reactive' }), [0, 29_000, 30_000]),
    [4, 4, 1],
  );
  // Forecast with every (here: no) active session projected and the load explained: short delay.
  assert.deepEqual(targets(new AutoscalerLoop(settings), [0, 4_000, 5_000]), [4, 4, 1]);
});

test("the idle window is the profiler's session_idle_s; ended sessions leave at once", () => {
  const loop = new AutoscalerLoop(config({ profiler: { session_idle_s: 30 } }));
  const view = pools([['small', { current: 1, replicas: replicas(1) }]]);
  loop.started(start('a', 0), 0);
  loop.started(start('b', 0), 0);
  assert.equal(loop.tick(10_000, [], view).activeSessions, 2);
  loop.ingest(
    {
      ...start('b', 0),
      endUnixMs: 12_000,
      sessionEnd: true,
      status: 'OK',
    } as unknown as Parameters<AutoscalerLoop['ingest']>[0],
    12_000,
  );
  assert.equal(loop.tick(20_000, [], view).activeSessions, 1, 'b ended');
  assert.equal(loop.tick(31_000, [], view).activeSessions, 0, 'a idle for more than 30 s');
  // With the default window (60 s) the same session is still followed.
  const defaults = new AutoscalerLoop(config());
  defaults.started(start('a', 0), 0);
  assert.equal(defaults.tick(31_000, [], view).activeSessions, 1);
});

test("sessions followed are bounded by ext_proc's max_tracked_sessions", () => {
  const loop = new AutoscalerLoop(config({ ext_proc: { max_tracked_sessions: 4 } }));
  for (let i = 0; i < 50; i++) loop.started(start(`s${i}`, i), i);
  const active = loop.tick(100, [], pools([['small', { current: 1, replicas: replicas(1) }]])).activeSessions;
  assert.ok(active > 0 && active <= 4, `${active} sessions followed`);
});

test('the KV usage is averaged over the serving replicas only', () => {
  const loop = new AutoscalerLoop(config(), { mode: 'reactive' });
  const hot = { waiting: 0, running: 0, kvUsage: 0.9 };
  const cold = { waiting: 0, running: 0, kvUsage: 0 };
  // Two replicas serve at 90% KV; a third, starting, reports nothing yet.
  const tick = loop.tick(
    0,
    [],
    pools([['small', { current: 2, replicas: [hot, hot, cold], serving: [hot, hot] }]]),
  );
  assert.equal(tick.decisions[0]?.reactiveReplicas, Math.ceil((2 * 0.9) / 0.8));
  const all = new AutoscalerLoop(config(), { mode: 'reactive' }).tick(
    0,
    [],
    pools([['small', { current: 2, replicas: [hot, hot, cold] }]]),
  );
  assert.equal(all.decisions[0]?.reactiveReplicas, Math.ceil((2 * 0.6) / 0.8));
});

test('the tick period is autoscaler.interval_s', () => {
  assert.equal(new AutoscalerLoop(config({ autoscaler: { interval_s: 2 } })).intervalMs, 2000);
});
