// Wires the ext_proc service from a validated configuration. Returned handles let tests,
// the bench and `npm start` run it in-process; main.ts runs it as a process.
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { closeHttp, createAdminServer, listenHttp } from '../../../common/src/admin-http.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';
import type { Logger } from '../../../common/src/logger.js';
import { NatsLink, natsAuthOptions } from '../../../common/src/nats/connection.js';
import { streamLimits } from '../../../common/src/nats/setup.js';
import { EXT_PROC_SERVICE } from '../../../common/src/proto.js';
import type { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import { createGatewayCore } from '../core/routing/gateway-core.js';
import type { ModelRegistry } from '../../../core/src/workflow/model-registry.js';
import type { SessionTracker } from '../core/routing/session-tracker.js';
import { type ExtProcSettings, StreamProcessor } from '../core/envoy/stream-processor.js';
import { EndpointScraper } from '../../../common/src/endpoint-scraper.js';
import { SharedBodyBudget } from '../core/envoy/stream-hygiene.js';
import { addExtProcService, type ExtProcStreams, recycleConnectionsAfter } from './grpc-ext-proc.js';
import { ReplicaSync } from './replica-sync.js';
import type { ReplicaView } from '../core/routing/replica-view.js';
import { ExtProcMetrics } from './metrics.js';
import { ModelWatcher } from '../../../common/src/model-watcher.js';
import type { Clock } from '../../../core/src/clock.js';
import { systemClock, systemRequestIds, systemTimers } from './system-sources.js';
import { NatsTracePublisher } from './trace-publisher.js';
import { HttpWarmSender } from './warm-sender.js';

export interface ExtProcService {
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly cluster: ClusterState;
  readonly metrics: ExtProcMetrics;
  readonly models: ModelRegistry;
  readonly sessions: SessionTracker;
  /** Null when no NATS is configured (stand-alone). */
  readonly traces: NatsTracePublisher | null;
  /** The open ext_proc streams (sweep() reaps those past a deadline; a timer calls it each second). */
  readonly streams: ExtProcStreams;
  /** The other ext-proc replicas as this one folds them (null without NATS). */
  readonly replicas: ReplicaView | null;
  /** Sharing with the other replicas (null without NATS): its `ready` resolves after catch-up. */
  readonly replicaSync: ReplicaSync | null;
  /** Resolves when the service reports ready (after catching up with the other replicas). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export interface ExtProcServiceOptions {
  readonly log: Logger;
  /** Process metrics (event loop, memory) are skipped when several services share a process. */
  readonly collectProcessMetrics?: boolean;
  readonly random?: () => number;
  /** Time for routing, stages, TTLs and traces (tests move a manual clock). */
  readonly clock?: Clock;
  /** Wall time stamping replica events and measuring their age (default: sub-millisecond system time). */
  readonly replicaWallNow?: () => number;
}

/** Seconds a held request's Envoy message timer runs past flow control's TTL. */
export const HELD_TIMER_MARGIN_S = 1;

export function settingsFromConfig(config: PythiaConfig): ExtProcSettings {
  const flow = config.scheduler.flow_control;
  return {
    headerNames: {
      workflow: config.headers.workflow,
      session: config.headers.session,
      agent: config.headers.agent,
      sessionEnd: config.headers.session_end,
    },
    maxIdentifierLength: config.identifiers.max_length,
    maxBodyBytes: config.ext_proc.max_body_bytes,
    llmPaths: new Set(config.ext_proc.llm_paths),
    defaultRequestBodyMode: config.ext_proc.request_body_mode,
    streamedChunkBytes: config.ext_proc.streamed_chunk_bytes,
    maxResponseScanBytes: config.ext_proc.max_response_scan_bytes,
    maxCapturedOutputChars: config.scheduler.levers.warming
      ? config.scheduler.warming.max_history_bytes / 2
      : 0,
    maxOutputTokens: new Map(config.pools.map((p) => [p.name, p.max_output_tokens])),
    tenantHeader: flow.enabled ? flow.fairness.tenant_header : null,
    // A second past the queue's TTL: the 429 at the TTL reaches Envoy before its timer fires.
    heldMessageTimeoutMs: flow.enabled ? (flow.queue_ttl_s + HELD_TIMER_MARGIN_S) * 1000 : 0,
  };
}

/**
 * grpc-js refuses a message over its limit with RESOURCE_EXHAUSTED before we see it (Envoy
 * then fails open). BUFFERED sends the whole body as one message, so the limit sits well
 * above max_body_bytes: a body between the two is answered 413 by us. Envoy's own buffer
 * limit (per_connection_buffer_limit_bytes) answers 413 long before either.
 */
export function grpcMessageLimit(maxBodyBytes: number): number {
  return maxBodyBytes + 64 * 1024 * 1024;
}

/** TLS from configuration; with a CA, clients (Envoy) must present a certificate it signed. */
export function serverCredentials(config: PythiaConfig): grpc.ServerCredentials {
  const tls = config.tls;
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.ca_file ? readFileSync(tls.ca_file) : null,
    [{ private_key: readFileSync(tls.key_file), cert_chain: readFileSync(tls.cert_file) }],
    tls.ca_file !== undefined,
  );
}

function bindGrpc(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

export async function startExtProc(
  config: PythiaConfig,
  options: ExtProcServiceOptions,
): Promise<ExtProcService> {
  const log = options.log;
  const clock = options.clock ?? systemClock;
  const metrics = new ExtProcMetrics(options.collectProcessMetrics ?? true);
  const link = config.nats
    ? new NatsLink(
        { url: config.nats.url, name: config.nats.name ?? 'pythia-ext-proc' },
        log,
        natsAuthOptions(config.nats),
      )
    : null;
  const traces = link
    ? new NatsTracePublisher(link, config.ext_proc.trace_buffer, streamLimits(config), metrics, log)
    : null;
  let warmer: HttpWarmSender | null = null;
  const sync = link
    ? new ReplicaSync(link, config.ext_proc.replicas, metrics, log, clock, options.replicaWallNow)
    : null;
  const core = createGatewayCore(config, {
    clock,
    random: options.random ?? Math.random,
    traces,
    warmSender: { send: (plan) => warmer?.send(plan) },
    events: metrics,
    flowEvents: metrics.flow,
    timers: systemTimers(clock),
    ...(sync ? { replica: { id: sync.id, sink: sync } } : {}),
  });
  if (sync && core.replicas) sync.attach(core.replicas);
  warmer = new HttpWarmSender(core.planner, config.scheduler.warming.timeout_ms, metrics, log);
  const { cluster, sessions, models } = core;
  const router = core.router;
  const watcher = link ? new ModelWatcher(link, models, metrics, log) : null;
  const scraper =
    config.scheduler.scrape_interval_ms > 0
      ? new EndpointScraper(cluster, config, metrics, log, () => core.flow?.scraped())
      : null;
  const settings = settingsFromConfig(config);
  const gaugeTimer = setInterval(() => {
    metrics.trackedSessions.set(sessions.size);
    metrics.natsConnected.set(link?.connected ? 1 : 0);
  }, 1000);
  gaugeTimer.unref();

  // Envoy's BUFFERED mode sends the whole body in one message: allow it past grpc-js's
  // 4 MiB default, and enforce our own limit with a clear 413 instead.
  const maxMessage = grpcMessageLimit(config.ext_proc.max_body_bytes);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessage,
    'grpc.max_send_message_length': maxMessage,
  });
  const bodyBudget = new SharedBodyBudget(config.ext_proc.max_buffered_bytes_total);
  const streams = addExtProcService(server, {
    newProcessor: () =>
      new StreamProcessor(
        settings,
        router,
        metrics,
        clock,
        systemRequestIds,
        bodyBudget,
        core.identity,
        core.flow,
      ),
    metrics,
    log,
    clock,
    deadlines: {
      idleMs: config.ext_proc.stream_idle_timeout_s * 1000,
      totalMs: config.ext_proc.stream_max_duration_s * 1000,
    },
  });
  const sweepTimer = setInterval(() => streams.sweep(), 1000);
  sweepTimer.unref();
  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);

  let stopping = false;
  let grpcPort = 0;
  const grpcPortPromise = bindGrpc(server, config.listen, serverCredentials(config));
  const admin: HttpServer = createAdminServer({
    registry: metrics.registry,
    notReadyReason: () =>
      stopping
        ? 'shutting down'
        : grpcPort === 0
          ? 'gRPC listener not bound'
          : sync && !sync.caughtUp
            ? 'catching up with the other ext-proc replicas'
            : null,
    log,
  });
  const adminAddress = parseHostPort(config.admin, true);
  if (!adminAddress) throw new Error(`invalid admin address ${config.admin}`);
  const adminPort = await listenHttp(admin, adminAddress.host, adminAddress.port);
  grpcPort = await grpcPortPromise;
  if (config.ext_proc.max_streams_per_connection > 0) {
    const hooked = recycleConnectionsAfter(server, config.ext_proc.max_streams_per_connection, () =>
      metrics.connectionsRecycledTotal.inc(),
    );
    if (hooked === 0) log.warn('cannot recycle HTTP/2 connections: stream resets may drop connections');
  }
  // Serving only once the other replicas' live sessions are folded in: a request routed
  // before would not decide as they do.
  const ready = (sync?.ready ?? Promise.resolve()).then(() => {
    if (stopping) return;
    health.setStatus('', 'SERVING');
    health.setStatus(EXT_PROC_SERVICE, 'SERVING');
  });
  log.info(
    {
      listen: config.listen,
      grpc_port: grpcPort,
      admin_port: adminPort,
      pools: config.pools.map((p) => p.name),
    },
    'ext_proc service ready',
  );

  return {
    grpcPort,
    adminPort,
    cluster,
    metrics,
    models,
    sessions,
    traces,
    streams,
    replicas: core.replicas,
    replicaSync: sync,
    ready,
    async stop() {
      stopping = true;
      clearInterval(gaugeTimer);
      clearInterval(sweepTimer);
      watcher?.stop();
      scraper?.stop();
      sync?.stop();
      warmer?.stop();
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      // No stream is left to add a trace: what is buffered goes out before NATS closes.
      await traces?.flush(config.ext_proc.stop_flush_timeout_s * 1000);
      traces?.stop();
      await closeHttp(admin);
      await link?.close();
      log.info('ext_proc service stopped');
    },
  };
}
