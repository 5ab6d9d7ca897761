// The profiler service: consumes traces from JetStream with a durable consumer, drives the
// pure ProfilerCore, stores completed sessions (its training set) and publishes models to
// the KV bucket. A trace is acknowledged only once its session's summary is stored, so a
// restart loses nothing that was acknowledged; redeliveries are deduplicated by request id.
import type { Server as HttpServer } from 'node:http';
import { AckPolicy, DeliverPolicy, type JsMsg, type KV, type NatsConnection, nanos } from 'nats';
import { closeHttp, createAdminServer, listenHttp } from '../../../common/src/admin-http.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';
import type { Logger } from '../../../common/src/logger.js';
import { NatsLink, natsAuthOptions } from '../../../common/src/nats/connection.js';
import { retryWithBackoff } from '../../../common/src/nats/backoff.js';
import { SESSION_SUMMARIES, TRACES, WORKFLOW_MODELS } from '../../../core/src/wire/channels.js';
import { ensureStateStreams, modelBucket, streamLimits } from '../../../common/src/nats/setup.js';
import type { CompletedSessionResult, ProfilerCore } from '../core/profiler-core.js';
import { ProfilerPass } from '../core/profiler-pass.js';
import { modelJson } from '../core/report.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';
import { ProfilerMetrics } from './metrics.js';

export interface ProfilerService {
  readonly adminPort: number;
  readonly metrics: ProfilerMetrics;
  readonly core: ProfilerCore<JsMsg>;
  /** Resolves once models and sessions were restored and consumption started. */
  readonly started: Promise<void>;
  /** Runs a completion and rebuild pass now (tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProfilerServiceOptions {
  readonly log: Logger;
  readonly collectProcessMetrics?: boolean;
  readonly now?: () => number;
}

export async function startProfiler(
  config: PythiaConfig,
  options: ProfilerServiceOptions,
): Promise<ProfilerService> {
  const log = options.log;
  const now = options.now ?? Date.now;
  if (!config.nats) throw new Error('the profiler needs nats.url in its configuration');
  const p = config.profiler;
  const metrics = new ProfilerMetrics(options.collectProcessMetrics ?? true);
  const profilerPass = ProfilerPass.fromConfig<JsMsg>(config, () => performance.now());
  const core = profilerPass.core;
  const link = new NatsLink(
    { url: config.nats.url, name: config.nats.name ?? 'pythia-profiler' },
    log,
    natsAuthOptions(config.nats),
  );
  let stopping = false;
  let restored = false;
  let kv: KV | null = null;
  let stopConsumer: (() => void) | null = null;

  const admin: HttpServer = createAdminServer({
    registry: metrics.registry,
    notReadyReason: () => (stopping ? 'shutting down' : restored ? null : 'restoring state from NATS'),
    routes: {
      '/v1/models': () => ({
        status: 200,
        body: { workflows: core.models().map((m) => modelJson(m, config.identity.aliases)) },
      }),
    },
    log,
  });
  const adminAddress = parseHostPort(p.admin, true);
  if (!adminAddress) throw new Error(`invalid profiler.admin ${p.admin}`);
  const adminPort = await listenHttp(admin, adminAddress.host, adminAddress.port);

  async function publishModel(model: WorkflowModel): Promise<void> {
    if (!kv) return;
    try {
      await kv.put(WORKFLOW_MODELS.keyFor(model.workflow), WORKFLOW_MODELS.encode(model));
    } catch (err) {
      metrics.publishErrorsTotal.inc({ what: 'model' });
      log.warn({ err, workflow: model.workflow }, 'model publish failed; the next rebuild retries');
    }
  }

  async function storeCompleted(nc: NatsConnection, done: CompletedSessionResult<JsMsg>): Promise<void> {
    metrics.sessionsCompletedTotal.inc({ reason: done.reason });
    try {
      await nc
        .jetstream()
        .publish(SESSION_SUMMARIES.subjectFor(done.summary.workflow), SESSION_SUMMARIES.encode(done.summary));
      for (const m of done.acks) m.ack();
    } catch (err) {
      // Not acknowledged: the traces come back and are deduplicated; only this session's
      // summary is missing from a later restart's training set.
      metrics.publishErrorsTotal.inc({ what: 'session' });
      log.warn(
        { err, workflow: done.summary.workflow },
        'session summary not stored; its traces stay unacknowledged',
      );
    }
  }

  let passRunning: Promise<void> | null = null;
  async function pass(force: boolean): Promise<void> {
    const nc = link.current;
    const { completed, rebuilt, rebuildMs } = profilerPass.run(now(), { force });
    if (nc) await Promise.all(completed.map((d) => storeCompleted(nc, d)));
    metrics.openSessions.set(core.openSessions);
    if (rebuilt === null) return;
    if (rebuilt.length > 0) metrics.rebuildSeconds.observe(rebuildMs / 1000 / rebuilt.length);
    for (const r of rebuilt) {
      if (r.modeChanged) {
        metrics.modeChangesTotal.inc({ to: r.model.mode });
        log.info(
          { workflow: r.model.workflow, mode: r.model.mode, reason: r.decision.reason, regex: r.model.regex },
          'workflow mode changed',
        );
      }
      await publishModel(r.model);
    }
    const modes = { shadow: 0, proactive: 0 };
    for (const m of core.models()) modes[m.mode]++;
    metrics.workflows.set({ mode: 'shadow' }, modes.shadow);
    metrics.workflows.set({ mode: 'proactive' }, modes.proactive);
  }
  function runPass(forceRebuild: boolean): Promise<void> {
    const previous = passRunning ?? Promise.resolve();
    const next = previous
      .then(() => pass(forceRebuild))
      .catch((err: unknown) => log.error({ err }, 'profiler pass failed'));
    passRunning = next;
    return next;
  }
  const timer = setInterval(() => {
    if (restored && !stopping) void runPass(false);
  }, profilerPass.serviceIntervalMs);
  timer.unref();

  async function restore(nc: NatsConnection): Promise<void> {
    await ensureStateStreams(nc, streamLimits(config));
    kv = await modelBucket(nc);
    const keys = await kv.keys();
    for await (const key of keys) {
      const entry = await kv.get(key);
      if (entry?.operation !== 'PUT') continue;
      try {
        core.restore(WORKFLOW_MODELS.decode(entry.value));
      } catch (err) {
        log.warn({ err, key }, 'ignoring an unreadable stored model');
      }
    }
    const jsm = await nc.jetstreamManager();
    const stored = (await jsm.streams.info(SESSION_SUMMARIES.stream)).state.messages;
    if (stored > 0) {
      const ordered = await nc.jetstream().consumers.get(SESSION_SUMMARIES.stream);
      const messages = await ordered.consume({ max_messages: 1000 });
      for await (const m of messages) {
        try {
          core.replay(SESSION_SUMMARIES.decode(m.data));
        } catch (err) {
          log.warn({ err }, 'ignoring an unreadable stored session');
        }
        if (m.info.pending === 0) break;
      }
      await messages.close();
    }
    core.finishRestore();
    await runPass(true);
    log.info({ workflows: core.workflows, sessions_replayed: stored }, 'profiler state restored');
  }

  async function consume(nc: NatsConnection, healthy: () => void): Promise<void> {
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(TRACES.stream, {
      durable_name: TRACES.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // Unacknowledged until the session completes: leave room for the idle timeout.
      ack_wait: nanos((p.session_idle_s * 2 + 30) * 1000),
      max_ack_pending: Math.min(1_000_000, p.limits.max_open_sessions * 10),
    });
    const consumer = await nc.jetstream().consumers.get(TRACES.stream, TRACES.consumer);
    const messages = await consumer.consume({ max_messages: 4096, threshold_messages: 1024 });
    stopConsumer = () => void messages.close();
    healthy();
    for await (const m of messages) {
      let result: string;
      try {
        const trace = TRACES.decode(m.data);
        const r = core.ingest(trace, m, now());
        result = r.accepted ? 'accepted' : r.reason;
        if (!r.accepted) m.ack();
      } catch {
        // Not a TraceRecord: never redeliver it.
        result = 'malformed';
        m.term();
      }
      metrics.tracesTotal.inc({ result });
    }
  }

  const stopSignal = new AbortController();
  const started = retryWithBackoff(
    async (healthy) => {
      const nc = await link.ready();
      if (!restored) {
        await restore(nc);
        restored = true;
      }
      await consume(nc, healthy);
      return 'again';
    },
    {
      signal: stopSignal.signal,
      onError: (err, retryMs) =>
        log.warn({ err, retry_ms: retryMs }, 'trace consumption interrupted; retrying'),
    },
  );
  const startedSignal = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (restored || stopping) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  log.info({ admin_port: adminPort }, 'profiler started');

  return {
    adminPort,
    metrics,
    core,
    started: startedSignal,
    flush: () => runPass(true),
    async stop() {
      stopping = true;
      stopSignal.abort();
      clearInterval(timer);
      stopConsumer?.();
      await passRunning;
      // Hand back what is still being collected, so the next profiler gets it at once
      // instead of after the acknowledgement timeout.
      for (const m of core.pendingTokens()) m.nak();
      await link.close();
      await started.catch(() => undefined);
      await closeHttp(admin);
      log.info('profiler stopped');
    },
  };
}
