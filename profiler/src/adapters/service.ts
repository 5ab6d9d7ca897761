// The profiler service: consumes traces from JetStream with a durable consumer, drives the
// pure ProfilerCore, stores completed sessions (its training set) and publishes models to
// the KV bucket. Crash-consistent: a trace is acknowledged only once its session's summary is
// stored; a summary is stored under the session's identity (Nats-Msg-Id, and the core's index
// of stored sessions), so a session assembled again after a crash is never stored twice; a
// summary that could not be stored is retried every pass, never dropped.
//
// Replicas: every replica restores the models and the stored sessions and follows the sessions
// stream; only the holder of the `profiler` lease (common/src/nats/lease.ts) consumes traces,
// completes and stores sessions and publishes models. A replica that becomes leader (at start,
// or taking over from a leader that died) first reads every trace past the durable consumer's
// acknowledgement floor, so it holds the sessions in progress whole before it completes any.
import { createHash } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { AckPolicy, DeliverPolicy, type JsMsg, type KV, type NatsConnection, nanos } from 'nats';
import { closeHttp, createAdminServer, listenHttp } from '../../../common/src/admin-http.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';
import type { Logger } from '../../../common/src/logger.js';
import { NatsLink, natsAuthOptions } from '../../../common/src/nats/connection.js';
import { retryWithBackoff } from '../../../common/src/nats/backoff.js';
import { DEFAULT_LEASE_TTL_S, LeaderLease } from '../../../common/src/nats/lease.js';
import { SESSION_SUMMARIES, TRACES, WORKFLOW_MODELS } from '../../../core/src/wire/channels.js';
import { ensureStateStreams, modelBucket, streamLimits } from '../../../common/src/nats/setup.js';
import type { ProfilerCore } from '../core/profiler-core.js';
import { ProfilerPass } from '../core/profiler-pass.js';
import { modelJson } from '../core/report.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';
import { ProfilerMetrics } from './metrics.js';

export interface ProfilerService {
  readonly adminPort: number;
  readonly metrics: ProfilerMetrics;
  readonly core: ProfilerCore<JsMsg>;
  /** Resolves once models and sessions were restored (a leader then consumes traces). */
  readonly started: Promise<void>;
  /** True while this replica holds the lease (consumes, completes, stores, publishes). */
  readonly isLeader: boolean;
  /** This replica's name in the lease. */
  readonly holder: string;
  /** Runs a completion and rebuild pass now (tests, shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProfilerServiceOptions {
  readonly log: Logger;
  readonly collectProcessMetrics?: boolean;
  /** The clock of sessions' idle timeouts (unix ms). */
  readonly now?: () => number;
  /** The lease's clock (unix ms; Date.now by default, whatever `now` is). */
  readonly leaseNow?: () => number;
  /** Its name in the lease (host, pid and a random part by default). */
  readonly holder?: string;
}

/** The Nats-Msg-Id of a session summary: its identity, hashed to a header-safe token. */
export function summaryMessageId(identity: string): string {
  return createHash('sha256').update(identity).digest('base64url');
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
  // The durable consumer's ack wait: unacknowledged until the session completes. A trace
  // redelivered while its session is still open is held again under its new token, so the
  // wait need not cover a whole session; it bounds how long the traces a crashed leader held
  // stay unacknowledged.
  const ackWaitMs = Math.max(10, p.session_idle_s * 2 + 5) * 1000;
  const profilerPass = ProfilerPass.fromConfig<JsMsg>(config, () => performance.now(), {
    learnOnStore: true,
    // Twice the ack wait: a held trace is surely redelivered by then, even to a slow consumer.
    redeliveryWaitMs: 2 * ackWaitMs,
  });
  const core = profilerPass.core;
  const link = new NatsLink(
    { url: config.nats.url, name: config.nats.name ?? 'pythia-profiler' },
    log,
    natsAuthOptions(config.nats),
  );
  const lease = new LeaderLease(link, {
    role: 'profiler',
    ttlMs: (config.nats.lease_ttl_s ?? DEFAULT_LEASE_TTL_S) * 1000,
    log,
    ...(options.leaseNow ? { now: options.leaseNow } : {}),
    ...(options.holder ? { holder: options.holder } : {}),
  });
  let stopping = false;
  let restored = false;
  let kv: KV | null = null;
  let stopConsumer: (() => void) | null = null;
  let stopFollower: (() => void) | null = null;
  /** Sequence of the last session summary read (restore, then the follower). */
  let summariesRead = 0;
  /** Consuming traces (the leader, once it read the sessions in progress). */
  let active = false;
  let disconnectedSince: number | null = null;

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

  /** Stores every completed session not stored yet; acknowledges the traces of those stored. */
  async function storeAwaiting(nc: NatsConnection): Promise<void> {
    const js = nc.jetstream();
    await Promise.all(
      core.awaitingSessions().map(async (done) => {
        try {
          const ack = await js.publish(
            SESSION_SUMMARIES.subjectFor(done.summary.workflow),
            SESSION_SUMMARIES.encode(done.summary),
            { msgID: summaryMessageId(done.id) },
          );
          if (ack.duplicate) metrics.sessionsDuplicateTotal.inc();
          else metrics.sessionsCompletedTotal.inc({ reason: done.reason });
          for (const m of core.stored(done.id, ack.duplicate)) m.ack();
        } catch (err) {
          // Kept: retried next pass; its traces stay unacknowledged meanwhile.
          metrics.publishErrorsTotal.inc({ what: 'session' });
          log.warn(
            { err, workflow: done.summary.workflow },
            'session summary not stored; retrying, its traces stay unacknowledged',
          );
        }
      }),
    );
    metrics.sessionsAwaitingStore.set(core.awaitingStore);
  }
  let passRunning: Promise<void> | null = null;
  async function pass(force: boolean): Promise<void> {
    metrics.leader.set(lease.isLeader ? 1 : 0);
    if (!active) return;
    const nc = link.current;
    // While NATS is away no trace can arrive: completing idle sessions would split those in
    // progress. Completions wait, and every open session gets a whole idle timeout once back.
    const connected = nc !== null && link.connected;
    if (!connected) disconnectedSince ??= now();
    else if (disconnectedSince !== null) {
      disconnectedSince = null;
      core.restartIdleClocks(now());
    }
    if (nc && connected) {
      for (const d of core.completeDue(now()))
        if (d.duplicate) {
          metrics.sessionsDuplicateTotal.inc();
          for (const m of d.acks) m.ack();
        }
      await storeAwaiting(nc);
    }
    metrics.openSessions.set(core.openSessions);
    const { rebuilt, rebuildMs } = profilerPass.rebuild(now(), { force });
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

  /** Continues from the published models (their versions and modes): at start and on taking over. */
  async function loadModels(nc: NatsConnection): Promise<void> {
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
  }

  async function restore(nc: NatsConnection): Promise<void> {
    await ensureStateStreams(nc, streamLimits(config));
    await loadModels(nc);
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
        summariesRead = m.seq;
        if (m.info.pending === 0) break;
      }
      await messages.close();
    }
    core.finishRestore();
    log.info({ workflows: core.workflows, sessions_replayed: stored }, 'profiler state restored');
  }

  /**
   * Follows the sessions stream from where the restore stopped: what the leader stores, a
   * standby learns (and knows stored). Resumes after the last summary read on a reconnect.
   */
  async function follow(nc: NatsConnection): Promise<void> {
    const consumer = await nc.jetstream().consumers.get(SESSION_SUMMARIES.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: summariesRead + 1,
    });
    const messages = await consumer.consume({ max_messages: 1000 });
    stopFollower = () => void messages.close();
    for await (const m of messages) {
      summariesRead = Math.max(summariesRead, m.seq);
      // Ours are known stored (learned when stored) and skipped by replay().
      try {
        core.replay(SESSION_SUMMARIES.decode(m.data));
      } catch (err) {
        log.warn({ err }, 'ignoring an unreadable stored session');
      }
    }
  }

  /** Reads every trace past the acknowledgement floor (the sessions in progress), without tokens. */
  async function readInProgress(nc: NatsConnection): Promise<number> {
    const jsm = await nc.jetstreamManager();
    const floor = (await jsm.consumers.info(TRACES.stream, TRACES.consumer)).ack_floor.stream_seq;
    const { first_seq: firstKept, last_seq: last } = (await jsm.streams.info(TRACES.stream)).state;
    const from = Math.max(floor + 1, firstKept);
    if (last < from) return 0;
    const consumer = await nc.jetstream().consumers.get(TRACES.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    const messages = await consumer.consume({ max_messages: 4096 });
    let read = 0;
    for await (const m of messages) {
      try {
        core.ingest(TRACES.decode(m.data), null, now());
      } catch {
        // Malformed: the durable consumer terminates it.
      }
      read++;
      if (m.seq >= last || m.info.pending === 0) break;
    }
    await messages.close();
    return read;
  }

  /** Waits until the follower has read every summary stored so far (bounded). */
  async function caughtUp(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const last = (await jsm.streams.info(SESSION_SUMMARIES.stream)).state.last_seq;
    const deadline = Date.now() + 10_000;
    while (summariesRead < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async function consume(nc: NatsConnection, healthy: () => void): Promise<void> {
    const jsm = await nc.jetstreamManager();
    await caughtUp(nc);
    const settings = {
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: Math.min(1_000_000, p.limits.max_open_sessions * 10),
    };
    try {
      await jsm.consumers.add(TRACES.stream, {
        durable_name: TRACES.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...settings,
      });
    } catch {
      await jsm.consumers.update(TRACES.stream, TRACES.consumer, settings); // made by an older version
    }
    const inProgress = await readInProgress(nc);
    if (!lease.isLeader) return;
    await loadModels(nc);
    core.finishRestore();
    const consumer = await nc.jetstream().consumers.get(TRACES.stream, TRACES.consumer);
    const messages = await consumer.consume({ max_messages: 4096, threshold_messages: 1024 });
    stopConsumer = () => void messages.close();
    active = true;
    log.info({ traces_read: inProgress }, 'consuming traces (leader)');
    void runPass(true);
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
  /** Set when leadership is lost: the consumer loop ends and waits to lead again. */
  let demoted: AbortController = new AbortController();
  let wonLeadership: (() => void) | null = null;
  lease.onChange((leader) => {
    metrics.leader.set(leader ? 1 : 0);
    if (leader) {
      wonLeadership?.();
      return;
    }
    demoted.abort();
  });
  const untilLeader = () =>
    lease.isLeader ? Promise.resolve() : new Promise<void>((resolve) => (wonLeadership = resolve));

  function stepDown(): void {
    if (!active) return;
    active = false;
    stopConsumer?.();
    stopConsumer = null;
    // Hand back what is held, so the leader gets it at once instead of after the ack wait.
    for (const m of core.pendingTokens()) m.nak();
    log.info('stopped consuming traces (no longer leader)');
  }

  const restoring = retryWithBackoff(
    async () => {
      const nc = await link.ready();
      await restore(nc);
      restored = true;
      lease.start();
      return 'done';
    },
    {
      signal: stopSignal.signal,
      onError: (err, retryMs) => log.warn({ err, retry_ms: retryMs }, 'restore failed; retrying'),
    },
  );
  const following = restoring.then(() =>
    retryWithBackoff(
      async (healthy) => {
        const nc = await link.ready();
        healthy();
        await follow(nc);
        return 'again';
      },
      {
        signal: stopSignal.signal,
        onError: (err, retryMs) =>
          log.warn({ err, retry_ms: retryMs }, 'sessions stream following interrupted; retrying'),
      },
    ),
  );
  const consuming = restoring.then(() =>
    retryWithBackoff(
      async (healthy) => {
        await untilLeader();
        if (stopSignal.signal.aborted) return 'done';
        demoted = new AbortController();
        const nc = await link.ready();
        const onDemoted = () => stepDown();
        demoted.signal.addEventListener('abort', onDemoted, { once: true });
        try {
          await consume(nc, healthy);
        } finally {
          demoted.signal.removeEventListener('abort', onDemoted);
          active = false;
        }
        return 'again';
      },
      {
        signal: stopSignal.signal,
        onError: (err, retryMs) =>
          log.warn({ err, retry_ms: retryMs }, 'trace consumption interrupted; retrying'),
      },
    ),
  );
  const startedSignal = restoring.then(() => undefined);
  log.info({ admin_port: adminPort }, 'profiler started');

  return {
    adminPort,
    metrics,
    core,
    started: startedSignal,
    get isLeader() {
      return lease.isLeader;
    },
    holder: lease.holder,
    flush: () => runPass(true),
    async stop() {
      stopping = true;
      stopSignal.abort();
      wonLeadership?.();
      clearInterval(timer);
      await passRunning;
      // Hand back what is still being collected, so the next profiler gets it at once
      // instead of after the acknowledgement timeout, and release the lease.
      stepDown();
      stopConsumer?.();
      stopFollower?.();
      await lease.stop();
      await link.close();
      await Promise.all([restoring, following, consuming].map((p) => p.catch(() => undefined)));
      await closeHttp(admin);
      log.info('profiler stopped');
    },
  };
}
