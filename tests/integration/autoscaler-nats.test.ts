// The autoscaler service over a real nats-server: a burst of sessions finishing their
// planner raises the target before the fan-out arrives; an idle pool drains down after its
// delay; a NATS outage keeps the last decision (KEDA still answers) and publishing recovers.
// The autoscaler's clock is the test's: idle timeouts and delays pass when the test says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { parseConfig } from '../../common/src/config/load.js';
import { SCALING_BUCKET, STARTS_SUBJECT, TRACE_SUBJECT, encodeToken } from '../../core/src/wire/subjects.js';
import { ensureStateStreams, modelBucket, streamLimits } from '../../common/src/nats/setup.js';
import {
  decodeScalingDecision,
  encodeModel,
  encodeRequestStart,
  encodeTrace,
} from '../../core/src/wire/codec.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { TestNatsServer, natsServerAvailable } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { startAutoscaler } from '../../autoscaler/src/adapters/service.js';
import { kedaPackageDefinition, metricName } from '../../autoscaler/src/adapters/keda-scaler.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
const SESSION_IDLE_S = 2;
const SCALE_DOWN_DELAY_S = 0.5;

test('forecast-driven scale-up, drain-down and NATS outage', { skip }, async () => {
  const nats = await TestNatsServer.start();
  const config = parseConfig({
    log_level: 'warn',
    nats: { url: nats.url },
    pools: [
      {
        name: 'llama',
        models: ['llama'],
        endpoints: [{ address: '127.0.0.1:9' }, { address: '127.0.0.1:10' }],
      },
    ],
    scheduler: { scrape_interval_ms: 0 },
    profiler: { session_idle_s: SESSION_IDLE_S },
    autoscaler: {
      admin: '127.0.0.1:0',
      keda_listen: '127.0.0.1:0',
      interval_s: 3600,
      // A quick model load (a small model, weights on the node): the fan-out's follow-up work
      // is worth scaling for.
      pools: {
        llama: {
          min_replicas: 1,
          max_replicas: 32,
          model_load_s: 5,
          scale_down_delay_s: SCALE_DOWN_DELAY_S,
          forecast_scale_down_delay_s: SCALE_DOWN_DELAY_S,
        },
      },
    },
  });
  // A proactive coding model in the bucket, as the profiler would have published it.
  const model = buildOffline(
    synthesizeTraces(codingWorkload({ sessions: 120, ratePerS: 1, seed: 9 })),
    CORE_CONFIG,
  ).models[0];
  assert.ok(model);
  const nc = await connect({ servers: nats.url });
  await ensureStateStreams(nc, streamLimits(config));
  await (await modelBucket(nc)).put('coding', encodeModel({ ...model, mode: 'proactive' }));
  const { log } = captureLogger('autoscaler', 'warn');
  const clock = new ManualClock();
  const autoscaler = await startAutoscaler(config, { log, now: clock.now });
  const pkg = grpc.loadPackageDefinition(kedaPackageDefinition()) as any;
  const keda = new pkg.externalscaler.ExternalScaler(
    `127.0.0.1:${autoscaler.kedaPort}`,
    grpc.credentials.createInsecure(),
  );
  const metric = () =>
    new Promise<number>((resolve, reject) =>
      keda.GetMetrics(
        { scaledObjectRef: { scalerMetadata: { pool: 'llama' } }, metricName: metricName('llama') },
        (err: Error | null, res: any) => (err ? reject(err) : resolve(res.metricValues[0].metricValueFloat)),
      ),
    );
  try {
    await autoscaler.tick();
    assert.equal(autoscaler.decisions.get('llama')?.target, 2, 'no sessions: the configured replicas stay');
    assert.equal(autoscaler.decisions.get('llama')?.forecastReplicas, 0);
    // Sessions are projected from their first request's start (core NATS), before any trace.
    // Starts are fire-and-forget: re-sent until the autoscaler's subscription is in place (a
    // repeated start is ignored).
    const announce = () => {
      for (let i = 0; i < 40; i++) {
        const start = { workflow: 'coding', session: `early-${i}`, agent: 'planner', pool: 'llama' };
        nc.publish(
          STARTS_SUBJECT,
          encodeRequestStart({ ...start, requestId: `e${i}`, exchange: `e${i}`, startUnixMs: clock.now() }),
        );
      }
    };
    await waitFor('the started sessions to be projected', async () => {
      announce();
      await nc.flush();
      await autoscaler.tick();
      return (autoscaler.decisions.get('llama')?.forecastReplicas ?? 0) > 0;
    });
    // 80 sessions have just finished their planner step: their explorers are about to fan out.
    const planners = synthesizeTraces(codingWorkload({ sessions: 80, ratePerS: 100, seed: 3 }))
      .filter((t) => t.agent === 'planner')
      .map((t) => ({ ...t, pool: 'llama', sessionEnd: false }));
    const js = nc.jetstream();
    for (const t of planners) await js.publish(TRACE_SUBJECT, encodeTrace(t));
    await waitFor('the burst to be projected', async () => {
      await autoscaler.tick();
      return (autoscaler.decisions.get('llama')?.target ?? 0) > 2;
    });
    const up = autoscaler.decisions.get('llama');
    assert.match(up?.reason ?? '', /forecast/);
    assert.ok((up?.projectedSessions ?? 0) >= 80 && up?.blindSessions === 0);
    assert.ok(
      (up?.forecastRequests ?? []).some((r) => r > 0),
      'the projected requests travel with it',
    );
    assert.equal(await metric(), up?.target, 'KEDA sees the new target');
    const stored = await (await nc.jetstream().views.kv(SCALING_BUCKET)).get(encodeToken('llama'));
    const kept = stored ? decodeScalingDecision(stored.value) : null;
    assert.equal(kept?.target, up?.target, 'latest decision kept in the bucket');
    assert.equal(kept?.projectedSessions, up?.projectedSessions);
    assert.deepEqual(kept?.forecastRequests, up?.forecastRequests);

    // Every planner trace is in (80 sessions projected)...
    await waitFor('every planner trace read', async () => {
      await autoscaler.tick();
      return (autoscaler.decisions.get('llama')?.projectedSessions ?? 0) >= 80 + 40;
    });
    // ...then the sessions go idle: hold for the scale-down delay, then drain to the minimum.
    clock.advance(SESSION_IDLE_S * 1000 + 1);
    await autoscaler.tick();
    assert.equal(autoscaler.decisions.get('llama')?.reason, 'holding: scale-down delay');
    clock.advance(SCALE_DOWN_DELAY_S * 1000);
    await autoscaler.tick();
    assert.equal(autoscaler.decisions.get('llama')?.target, 1);

    // NATS goes away: the last decision stays in force and KEDA keeps answering.
    await nats.kill();
    await autoscaler.tick();
    assert.equal(await metric(), 1);
    await nats.restart();
    // Decisions made from now on are stamped later than any made before the outage.
    clock.advance(1000);
    await waitFor('decisions published again after NATS came back', async () => {
      await autoscaler.tick();
      const kv = await nc
        .jetstream()
        .views.kv(SCALING_BUCKET)
        .catch(() => null);
      const e = await kv?.get(encodeToken('llama')).catch(() => null);
      return e ? decodeScalingDecision(e.value).unixMs === clock.now() : false;
    });
  } finally {
    keda.close();
    await autoscaler.stop();
    await nc.close().catch(() => undefined);
    await nats.stop();
  }
});
