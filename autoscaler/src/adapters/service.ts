// The autoscaler service: follows active sessions from the traces subject, the workflow
// models from the models bucket and the model servers' load from their /metrics; every
// interval it projects the sessions along their automata (pure forecast core) and decides a
// replica target per pool. Decisions go out on NATS (pythia.scaling.<pool>, latest per pool
// in the PYTHIA_SCALING bucket), as a Prometheus gauge, and through KEDA's external scaler
// API. When NATS is away the last decisions keep being served.
import type { Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { DeliverPolicy, type Subscription } from 'nats';
import { Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../../common/src/process-metrics.js';
import { closeHttp, createAdminServer, listenHttp } from '../../../common/src/admin-http.js';
import { type PythiaConfig, autoscalerPoolDefaults } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';
import type { Logger } from '../../../common/src/logger.js';
import { NatsLink, natsAuthOptions } from '../../../common/src/nats/connection.js';
import {
  SCALING_BUCKET,
  SCALING_SUBJECT_PREFIX,
  STARTS_SUBJECT,
  TRACE_STREAM,
  encodeToken,
} from '../../../core/src/wire/subjects.js';
import { ensureStateStreams, streamLimits } from '../../../common/src/nats/setup.js';
import {
  type ScalingDecisionRecord,
  decodeRequestStart,
  decodeTrace,
  encodeScalingDecision,
} from '../../../core/src/wire/codec.js';
import { EndpointScraper } from '../../../common/src/endpoint-scraper.js';
import { ModelWatcher } from '../../../common/src/model-watcher.js';
import { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import { ModelRegistry } from '../../../core/src/workflow/model-registry.js';
import { ActiveSessions } from '../core/active-sessions.js';
import { emptyForecast, forecast, forecastSettings } from '../core/forecast.js';
import { type ScaleState, poolLive, replicaTarget } from '../core/replica-target.js';
import type { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { addKedaScaler } from './keda-scaler.js';

export interface AutoscalerService {
  readonly adminPort: number;
  /** Its Prometheus metrics (served on the admin port). */
  readonly registry: Registry;
  readonly kedaPort: number;
  /** The latest decision per pool. */
  readonly decisions: ReadonlyMap<string, ScalingDecisionRecord>;
  /** Runs one decision pass now (tests). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAutoscaler(
  config: PythiaConfig,
  options: { log: Logger; now?: () => number; collectProcessMetrics?: boolean },
): Promise<AutoscalerService> {
  const { log } = options;
  const now = options.now ?? Date.now;
  const a = config.autoscaler;
  const registry = new Registry();
  // process_* and nodejs_*: once per process (several services in one process expose them once).
  if (options.collectProcessMetrics ?? true) collectProcessMetrics(registry);
  const desiredGauge = new Gauge({
    name: 'pythia_autoscaler_desired_replicas',
    help: 'Replica target per pool',
    labelNames: ['pool'],
    registers: [registry],
  });
  const forecastGauge = new Gauge({
    name: 'pythia_autoscaler_forecast_replicas',
    help: 'Replicas the forecast alone asks for',
    labelNames: ['pool'],
    registers: [registry],
  });
  const reactiveGauge = new Gauge({
    name: 'pythia_autoscaler_reactive_replicas',
    help: 'Replicas the live queue alone asks for',
    labelNames: ['pool'],
    registers: [registry],
  });
  const sessionsGauge = new Gauge({
    name: 'pythia_autoscaler_active_sessions',
    help: 'Sessions being projected',
    registers: [registry],
  });

  const cluster = new ClusterState(config.pools);
  const models = new ModelRegistry();
  const sessions = new ActiveSessions(config.ext_proc.max_tracked_sessions);
  const decisions = new Map<string, ScalingDecisionRecord>();
  const states = new Map<string, ScaleState>();
  const listeners = new Set<(pool: string) => void>();
  const link = config.nats
    ? new NatsLink({ url: config.nats.url, name: 'pythia-autoscaler' }, log, natsAuthOptions(config.nats))
    : null;
  const noop = () => undefined;
  const watcher = link
    ? new ModelWatcher(link, models, { modelUpdated: noop, modelRejected: noop }, log)
    : null;
  const scraper =
    config.scheduler.scrape_interval_ms > 0
      ? new EndpointScraper(cluster, config, { scraped: noop }, log)
      : null;
  let stopConsumer: (() => void) | null = null;
  let stopped = false;
  // Request starts on core NATS (the client resubscribes after a reconnect): a session is
  // projected from its first request on, not only after one completes.
  let startsSubscription: Subscription | null = null;
  void link?.ready().then((nc) => {
    if (stopped) return;
    startsSubscription = nc.subscribe(STARTS_SUBJECT, {
      callback: (err, m) => {
        if (err) return;
        try {
          sessions.started(decodeRequestStart(m.data), now());
        } catch {
          // Malformed starts are dropped: the session's trace will follow.
        }
      },
    });
  });
  // Traces are read from the stream starting one idle timeout back, so a (re)started
  // autoscaler recovers the sessions still in progress. Reconnects after NATS outages.
  void (async () => {
    let delay = 250;
    while (link && !stopped) {
      try {
        const nc = await link.ready();
        await ensureStateStreams(nc, streamLimits(config));
        const since = new Date(now() - config.profiler.session_idle_s * 1000).toISOString();
        const consumer = await nc.jetstream().consumers.get(TRACE_STREAM, {
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: since,
        });
        const messages = await consumer.consume({ max_messages: 1024 });
        stopConsumer = () => void messages.close();
        delay = 250;
        for await (const m of messages) {
          try {
            sessions.ingest(decodeTrace(m.data), now());
          } catch {
            // Malformed payloads are the profiler's to count; the forecast skips them.
          }
        }
      } catch (err) {
        if (stopped) return;
        log.warn({ err, retry_ms: delay }, 'trace reading interrupted; retrying');
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  })();

  async function publish(d: ScalingDecisionRecord): Promise<void> {
    const nc = link?.current;
    if (!nc || !link?.connected) return;
    try {
      const bytes = encodeScalingDecision(d);
      nc.publish(`${SCALING_SUBJECT_PREFIX}.${encodeToken(d.pool)}`, bytes);
      const kv = await nc.jetstream().views.kv(SCALING_BUCKET, { history: 1 });
      await kv.put(encodeToken(d.pool), bytes);
    } catch (err) {
      log.warn({ err, pool: d.pool }, 'scaling decision not published; the last one stays in force');
    }
  }

  async function tick(): Promise<void> {
    const t = now();
    const positions = sessions.positions(t, config.profiler.session_idle_s * 1000);
    sessionsGauge.set(positions.length);
    const byWorkflow = new Map<string, IndexedModel>();
    for (const m of models.all()) byWorkflow.set(m.model.workflow, m);
    const settings = forecastSettings(a);
    const projected = forecast(positions, byWorkflow, settings, (w, agent) => sessions.poolOf(w, agent));
    for (const pool of cluster.allPools()) {
      const p = { ...autoscalerPoolDefaults, ...(a.pools[pool.name] ?? {}) };
      const state = states.get(pool.name) ?? { lowSinceS: null };
      states.set(pool.name, state);
      const current = decisions.get(pool.name)?.target ?? pool.endpoints.length;
      const live = poolLive(current, pool.endpoints, p.requests_per_replica);
      const f = projected.get(pool.name) ?? emptyForecast(pool.name, settings);
      const d = replicaTarget(
        f,
        a.bucket_s,
        live,
        {
          prefillTokensPerS: p.prefill_tokens_per_s,
          decodeTokensPerS: p.decode_tokens_per_s,
          minReplicas: p.min_replicas,
          maxReplicas: p.max_replicas,
          modelLoadS: p.model_load_s,
          scaleDownDelayS: p.scale_down_delay_s,
          forecastScaleDownDelayS: p.forecast_scale_down_delay_s,
          targetUtilisation: p.target_utilisation,
        },
        state,
        t / 1000,
      );
      const record: ScalingDecisionRecord = {
        pool: pool.name,
        current,
        target: d.target,
        reason: d.reason,
        forecastReplicas: d.forecastReplicas,
        reactiveReplicas: d.reactiveReplicas,
        forecastDecodeTokens: f.decodeTokens,
        bucketS: a.bucket_s,
        unixMs: t,
        forecastRequests: f.requests,
        projectedSessions: f.projectedSessions,
        blindSessions: f.blindSessions,
      };
      const previous = decisions.get(pool.name);
      decisions.set(pool.name, record);
      desiredGauge.set({ pool: pool.name }, d.target);
      forecastGauge.set({ pool: pool.name }, d.forecastReplicas);
      reactiveGauge.set({ pool: pool.name }, d.reactiveReplicas);
      if (previous?.target !== d.target) {
        log.info(
          { pool: pool.name, from: previous?.target ?? current, to: d.target, reason: d.reason },
          'replica target changed',
        );
        for (const l of listeners) l(pool.name);
      }
      await publish(record);
    }
  }

  const keda = new grpc.Server();
  addKedaScaler(keda, {
    target: (pool) => decisions.get(pool)?.target,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  const kedaPort = await new Promise<number>((resolve, reject) =>
    keda.bindAsync(a.keda_listen, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  const admin: HttpServer = createAdminServer({
    registry,
    notReadyReason: () => null,
    routes: { '/v1/decisions': () => ({ status: 200, body: { decisions: [...decisions.values()] } }) },
    log,
  });
  const adminAddress = parseHostPort(a.admin, true);
  if (!adminAddress) throw new Error(`invalid autoscaler.admin ${a.admin}`);
  const adminPort = await listenHttp(admin, adminAddress.host, adminAddress.port);
  await tick();
  const timer = setInterval(
    () => void tick().catch((err: unknown) => log.error({ err }, 'autoscaler pass failed')),
    a.interval_s * 1000,
  );
  timer.unref();
  log.info({ admin_port: adminPort, keda_port: kedaPort }, 'autoscaler started');
  return {
    adminPort,
    registry,
    kedaPort,
    decisions,
    tick,
    async stop() {
      clearInterval(timer);
      stopped = true;
      stopConsumer?.();
      startsSubscription?.unsubscribe();
      watcher?.stop();
      scraper?.stop();
      keda.forceShutdown();
      await closeHttp(admin);
      await link?.close();
    },
  };
}
