// The autoscaler service: follows active sessions from the traces subject, the workflow
// models from the models bucket and the model servers' load from their /metrics; every
// interval the autoscaler loop (core, also run by the bench) projects the sessions along
// their automata and decides a replica target per pool. Decisions go out on NATS (pythia.scaling.<pool>, latest per pool
// in the PYTHIA_SCALING bucket), as a Prometheus gauge, and through KEDA's external scaler
// API. When NATS is away the last decisions keep being served.
//
// Replicas: every replica follows the same streams and runs the loop, so a standby is warm;
// only the holder of the `autoscaler` lease (common/src/nats/lease.ts) publishes decisions. A
// standby serves KEDA the leader's latest decision per pool (watched in the PYTHIA_SCALING
// bucket; its own only for a pool the leader has not decided), so either pod answers alike.
import type { Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { DeliverPolicy, type Subscription } from 'nats';
import { Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../../common/src/process-metrics.js';
import { closeHttp, createAdminServer, listenHttp } from '../../../common/src/admin-http.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';
import type { Logger } from '../../../common/src/logger.js';
import { retryWithBackoff } from '../../../common/src/nats/backoff.js';
import { NatsLink, natsAuthOptions } from '../../../common/src/nats/connection.js';
import { DEFAULT_LEASE_TTL_S, LeaderLease } from '../../../common/src/nats/lease.js';
import { REQUEST_STARTS, SCALING_DECISIONS, TRACES } from '../../../core/src/wire/channels.js';
import { ensureStateStreams, streamLimits } from '../../../common/src/nats/setup.js';
import type { ScalingDecisionRecord } from '../../../core/src/wire/codec.js';
import { EndpointScraper } from '../../../common/src/endpoint-scraper.js';
import { ModelWatcher } from '../../../common/src/model-watcher.js';
import { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import { ModelRegistry } from '../../../core/src/workflow/model-registry.js';
import { AutoscalerLoop, type PoolView } from '../core/autoscaler-loop.js';
import { addKedaScaler } from './keda-scaler.js';

export interface AutoscalerService {
  readonly adminPort: number;
  /** Its Prometheus metrics (served on the admin port). */
  readonly registry: Registry;
  readonly kedaPort: number;
  /** The latest decision per pool, as served to KEDA (a standby: the leader's). */
  readonly decisions: ReadonlyMap<string, ScalingDecisionRecord>;
  /** True while this replica holds the lease (always without NATS). */
  readonly isLeader: boolean;
  /** Runs one decision pass now (tests). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAutoscaler(
  config: PythiaConfig,
  options: {
    log: Logger;
    now?: () => number;
    collectProcessMetrics?: boolean;
    /** The lease's clock (Date.now by default) and this replica's name in it. */
    leaseNow?: () => number;
    holder?: string;
  },
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
  const leaderGauge = new Gauge({
    name: 'pythia_autoscaler_leader',
    help: '1 while this replica holds the autoscaler lease (publishes decisions), 0 on standby',
    registers: [registry],
  });

  const stopping = new AbortController();
  const cluster = new ClusterState(config.pools);
  const models = new ModelRegistry();
  const loop = new AutoscalerLoop(config);
  /** Served (KEDA, the next pass's current size); own: this replica's; fromLeader: the bucket's. */
  const decisions = new Map<string, ScalingDecisionRecord>();
  const own = new Map<string, ScalingDecisionRecord>();
  const fromLeader = new Map<string, ScalingDecisionRecord>();
  const listeners = new Set<(pool: string) => void>();
  const link = config.nats
    ? new NatsLink({ url: config.nats.url, name: 'pythia-autoscaler' }, log, natsAuthOptions(config.nats))
    : null;
  const lease = link
    ? new LeaderLease(link, {
        role: 'autoscaler',
        ttlMs: (config.nats?.lease_ttl_s ?? DEFAULT_LEASE_TTL_S) * 1000,
        log,
        ...(options.leaseNow ? { now: options.leaseNow } : {}),
        ...(options.holder ? { holder: options.holder } : {}),
      })
    : null;
  const leading = () => lease === null || lease.isLeader;
  lease?.onChange((leader) => {
    leaderGauge.set(leader ? 1 : 0);
    // Taking over: our own decisions are served and published from now on.
    if (leader) for (const pool of own.keys()) serve(pool);
    if (leader) for (const d of own.values()) void publish(d);
  });
  leaderGauge.set(leading() ? 1 : 0);
  lease?.start();

  /** Serves the leader's decision for `pool` (ours when leading or none is known). */
  function serve(pool: string): void {
    const d = leading() ? own.get(pool) : (fromLeader.get(pool) ?? own.get(pool));
    if (!d) return;
    const previous = decisions.get(pool);
    decisions.set(pool, d);
    desiredGauge.set({ pool }, d.target);
    if (previous?.target !== d.target) for (const l of listeners) l(pool);
  }
  // The leader's decisions, for a standby to serve (and to continue from on taking over).
  if (link)
    void retryWithBackoff(
      async (healthy) => {
        const nc = await link.ready();
        const kv = await nc.jetstream().views.kv(SCALING_DECISIONS.bucket, { history: 1 });
        const watch = await kv.watch();
        stopDecisionWatch = () => watch.stop();
        healthy();
        for await (const e of watch) {
          if (e.operation !== 'PUT') continue;
          try {
            const d = SCALING_DECISIONS.decode(e.value);
            fromLeader.set(d.pool, d);
            serve(d.pool);
          } catch {
            // Not a decision: ignored.
          }
        }
        return 'again';
      },
      {
        signal: stopping.signal,
        onError: (err, retryMs) =>
          log.warn({ err, retry_ms: retryMs }, 'decision watch interrupted; retrying'),
      },
    );
  const noop = () => undefined;
  const watcher = link
    ? new ModelWatcher(link, models, { modelUpdated: noop, modelRejected: noop }, log)
    : null;
  const scraper =
    config.scheduler.scrape_interval_ms > 0
      ? new EndpointScraper(cluster, config, { scraped: noop }, log)
      : null;
  let stopConsumer: (() => void) | null = null;
  let stopDecisionWatch: (() => void) | null = null;
  // Request starts on core NATS (the client resubscribes after a reconnect): a session is
  // projected from its first request on, not only after one completes.
  let startsSubscription: Subscription | null = null;
  void link?.ready().then((nc) => {
    if (stopping.signal.aborted) return;
    startsSubscription = nc.subscribe(REQUEST_STARTS.subject, {
      callback: (err, m) => {
        if (err) return;
        try {
          loop.started(REQUEST_STARTS.decode(m.data), now());
        } catch {
          // Malformed starts are dropped: the session's trace will follow.
        }
      },
    });
  });
  // Traces are read from the stream starting one idle timeout back, so a (re)started
  // autoscaler recovers the sessions still in progress. Reconnects after NATS outages.
  if (link)
    void retryWithBackoff(
      async (healthy) => {
        const nc = await link.ready();
        await ensureStateStreams(nc, streamLimits(config));
        const since = new Date(now() - config.profiler.session_idle_s * 1000).toISOString();
        const consumer = await nc.jetstream().consumers.get(TRACES.stream, {
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: since,
        });
        const messages = await consumer.consume({ max_messages: 1024 });
        stopConsumer = () => void messages.close();
        healthy();
        for await (const m of messages) {
          try {
            loop.ingest(TRACES.decode(m.data), now());
          } catch {
            // Malformed payloads are the profiler's to count; the forecast skips them.
          }
        }
        return 'again';
      },
      {
        signal: stopping.signal,
        onError: (err, retryMs) =>
          log.warn({ err, retry_ms: retryMs }, 'trace reading interrupted; retrying'),
      },
    );

  async function publish(d: ScalingDecisionRecord): Promise<void> {
    const nc = link?.current;
    if (!nc || !link?.connected) return;
    try {
      const bytes = SCALING_DECISIONS.encode(d);
      nc.publish(SCALING_DECISIONS.subjectFor(d.pool), bytes);
      const kv = await nc.jetstream().views.kv(SCALING_DECISIONS.bucket, { history: 1 });
      await kv.put(SCALING_DECISIONS.keyFor(d.pool), bytes);
    } catch (err) {
      log.warn({ err, pool: d.pool }, 'scaling decision not published; the last one stays in force');
    }
  }

  async function tick(): Promise<void> {
    // A pool's replicas are not observed here: its current size is the last target.
    const views = new Map<string, PoolView>();
    for (const pool of cluster.allPools()) {
      const current = decisions.get(pool.name)?.target ?? pool.endpoints.length;
      views.set(pool.name, { current, replicas: pool.endpoints });
    }
    const pass = loop.tick(now(), models.all(), views);
    sessionsGauge.set(pass.activeSessions);
    const leader = leading();
    for (const record of pass.decisions) {
      const previous = decisions.get(record.pool);
      own.set(record.pool, record);
      forecastGauge.set({ pool: record.pool }, record.forecastReplicas);
      reactiveGauge.set({ pool: record.pool }, record.reactiveReplicas);
      serve(record.pool);
      if (!leader) continue; // a standby decides (to stay warm) but publishes nothing
      if (previous?.target !== record.target) {
        log.info(
          {
            pool: record.pool,
            from: previous?.target ?? record.current,
            to: record.target,
            reason: record.reason,
          },
          'replica target changed',
        );
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
    loop.intervalMs,
  );
  timer.unref();
  log.info({ admin_port: adminPort, keda_port: kedaPort }, 'autoscaler started');
  return {
    adminPort,
    registry,
    kedaPort,
    decisions,
    get isLeader() {
      return leading();
    },
    tick,
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await lease?.stop();
      stopConsumer?.();
      stopDecisionWatch?.();
      startsSubscription?.unsubscribe();
      watcher?.stop();
      scraper?.stop();
      keda.forceShutdown();
      await closeHttp(admin);
      await link?.close();
    },
  };
}
