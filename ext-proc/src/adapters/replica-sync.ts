// Live-session state shared between ext-proc replicas over NATS. Each replica publishes its
// request starts and ends, reservations and heartbeats on core NATS (pythia.replica.v1);
// every other replica applies them to its own view as they arrive (loopback: about a
// millisecond). A memory stream (PYTHIA_REPLICA, ext_proc.replicas.stream_max_age_s) captures
// the same subject, so a starting replica first replays it through a plain ephemeral consumer
// and only then reports ready. A nats-server restart loses a memory stream: every replica
// creates it again when its connection comes back, or a replica started later would catch up
// from nothing. A replica not heard from for dead_after_ms stops counting.
import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type Subscription,
} from 'nats';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import type { Logger } from '../../../common/src/logger.js';
import { retryWithBackoff } from '../../../common/src/nats/backoff.js';
import type { NatsLink } from '../../../common/src/nats/connection.js';
import { ensureStream } from '../../../common/src/nats/setup.js';
import type { Clock } from '../../../core/src/clock.js';
import { REPLICA_EVENTS } from '../../../core/src/wire/channels.js';
import type { ReplicaEvent, ReplicaEventBody } from '../../../core/src/wire/replica-event.js';
import type { ReplicaSink, ReplicaView } from '../core/routing/replica-view.js';
import type { ExtProcMetrics } from './metrics.js';

/** Wall time with sub-millisecond resolution (staleness on loopback is about 1 ms). */
export const preciseWallNow = (): number => performance.timeOrigin + performance.now();

/** Bytes of one held event besides its payload (the Uint8Array and its backing store). */
const BUFFERED_EVENT_BYTES = 160;

export class ReplicaSync implements ReplicaSink {
  readonly id = randomUUID();
  private seq = 0;
  private pending: ReplicaEvent[] = [];
  /** Starts sent minus ends sent: this replica's requests in flight as the others count them. */
  private inFlight = 0;
  private view: ReplicaView | null = null;
  private subscription: Subscription | null = null;
  private buffered: Uint8Array[] | null = [];
  /** Bytes of `buffered` (bounded by catch_up_buffer_bytes). */
  private bufferedBytes = 0;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  private readonly stopping = new AbortController();
  private markReady!: () => void;
  /** Resolves once the stream was replayed (or catch-up gave up after its timeout). */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  caughtUp = false;

  constructor(
    private readonly link: NatsLink,
    private readonly settings: PythiaConfig['ext_proc']['replicas'],
    private readonly metrics: ExtProcMetrics,
    private readonly log: Logger,
    private readonly clock: Clock,
    /** Stamps events and measures their age (tests pass their clock's wallNow). */
    private readonly wallNow: () => number = preciseWallNow,
  ) {
    this.timer = setInterval(() => this.tick(), settings.heartbeat_ms);
    this.timer.unref();
  }

  /** Starts following the other replicas into `view` (catch-up first). */
  attach(view: ReplicaView): void {
    this.view = view;
    const giveUp = setTimeout(() => {
      if (this.caughtUp) return;
      this.log.warn('replica catch-up did not finish in time: ready with what arrived');
      this.finishCatchUp();
    }, this.settings.catch_up_timeout_s * 1000);
    giveUp.unref();
    void this.start().catch((err: unknown) => {
      this.log.warn({ err }, 'replica catch-up failed: following live events only');
      this.finishCatchUp();
    });
  }

  /** Events this replica has numbered so far (its latest sequence number). */
  get sent(): number {
    return this.seq;
  }

  /**
   * Numbers the event now and sends it once the current answer to Envoy is written
   * (setImmediate): encoding and publishing stay off the request's path, in order.
   */
  emit(body: ReplicaEventBody): void {
    if (body.kind === 'start') this.inFlight++;
    else if (body.kind === 'end') this.inFlight = Math.max(0, this.inFlight - 1);
    this.pending.push({ replica: this.id, seq: ++this.seq, unixMs: this.wallNow(), body });
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const events = this.pending;
    this.pending = [];
    const nc = this.link.current;
    if (!nc || !this.link.connected) return;
    for (const event of events) {
      try {
        const bytes = REPLICA_EVENTS.encode(event);
        nc.publish(REPLICA_EVENTS.subject, bytes);
        this.metrics.replicaEventsTotal.inc({ direction: 'sent', kind: event.body.kind });
        this.metrics.replicaEventBytesTotal.inc({ direction: 'sent' }, bytes.length);
      } catch (err) {
        this.log.debug({ err }, 'replica event not sent');
      }
    }
  }

  private async start(): Promise<void> {
    const nc = await this.link.ready();
    if (this.stopped) return;
    this.subscription = nc.subscribe(REPLICA_EVENTS.subject, {
      callback: (err, msg) => {
        if (err) return;
        if (this.buffered) this.hold(msg.data);
        else this.receive(msg.data, true);
      },
    });
    await nc.flush();
    void this.keepStream(nc);
    await this.replay(nc);
    this.finishCatchUp();
  }

  private streamConfig() {
    return {
      name: REPLICA_EVENTS.stream,
      subjects: [REPLICA_EVENTS.subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      discard: DiscardPolicy.Old,
      max_age: nanos(this.settings.stream_max_age_s * 1000),
      max_bytes: this.settings.stream_max_bytes,
    };
  }

  /**
   * Creates the stream again each time the connection comes back: in memory, it is gone
   * after a nats-server restart (the live subscription itself is renewed by the client).
   */
  private async keepStream(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.stopped) return;
      if (status.type !== 'reconnect') continue;
      await retryWithBackoff(
        async () => {
          await ensureStream(await nc.jetstreamManager(), this.streamConfig());
          return 'done';
        },
        {
          signal: this.stopping.signal,
          onError: (err, retryMs) =>
            this.log.warn(
              { err, retry_ms: retryMs },
              'replica stream not re-created after a reconnect; retrying',
            ),
        },
      );
    }
  }

  /** Reads the stream up to its last message at the time, through a plain ephemeral consumer. */
  private async replay(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const config = this.streamConfig();
    let last: number;
    try {
      last = (await jsm.streams.info(config.name)).state.last_seq;
      await jsm.streams.update(config.name, config);
    } catch (err) {
      if (!/stream not found/i.test(String((err as Error).message))) throw err;
      await jsm.streams.add(config);
      return;
    }
    if (last === 0) return;
    // Ordered consumers with a deliver policy never delivered here (nats.js 2.29): a plain
    // ephemeral pull consumer, no acks, removed by the server once idle.
    const info = await jsm.consumers.add(config.name, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: nanos(30_000),
    });
    const consumer = await nc.jetstream().consumers.get(config.name, info.name);
    let seen = 0;
    let replayed = 0;
    // Stops if catch-up gave up meanwhile (live events then win; older ones are skipped).
    while (seen < last && !this.stopped && !this.caughtUp) {
      const batch = await consumer.fetch({ max_messages: 512, expires: 1000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        seen = m.seq;
        if (this.receive(m.data, false)) replayed++;
        if (seen >= last) break;
      }
      if (got === 0) break;
    }
    await jsm.consumers.delete(config.name, info.name).catch(() => undefined);
    this.log.info({ replayed, stream_last_seq: last }, 'caught up with the other ext-proc replicas');
  }

  /**
   * Keeps a live event until catch-up ends, within catch_up_buffer_bytes: a copy (the
   * message's bytes may be a view into a larger read buffer) and a fixed overhead each.
   */
  private hold(data: Uint8Array): void {
    const bytes = data.length + BUFFERED_EVENT_BYTES;
    if (!this.buffered || this.bufferedBytes + bytes > this.settings.catch_up_buffer_bytes) {
      this.metrics.replicaLostTotal.inc({ what: 'buffer' });
      return;
    }
    this.buffered.push(data.slice());
    this.bufferedBytes += bytes;
  }

  /** Bytes of live events held while catching up. */
  get heldBytes(): number {
    return this.bufferedBytes;
  }

  private finishCatchUp(): void {
    if (this.caughtUp) return;
    const pending = this.buffered ?? [];
    this.buffered = null;
    this.bufferedBytes = 0;
    // Held while catching up: their age is not the transit's.
    for (const data of pending) this.receive(data, false);
    this.view?.expire(this.clock.now());
    this.caughtUp = true;
    this.markReady();
  }

  /** Applies one event; returns true when it was another replica's and new. */
  private receive(data: Uint8Array, live: boolean): boolean {
    const view = this.view;
    if (!view) return false;
    let event: ReplicaEvent;
    try {
      event = REPLICA_EVENTS.decode(data);
    } catch (err) {
      this.log.debug({ err }, 'ignoring an unreadable replica event');
      return false;
    }
    if (event.replica === this.id) return false;
    const ageMs = this.wallNow() - event.unixMs;
    const gaps = view.counts.gaps;
    const result = view.apply(event, this.clock.now(), ageMs, !live);
    this.metrics.replicaEventBytesTotal.inc({ direction: 'received' }, data.length);
    this.metrics.replicaEventsTotal.inc({ direction: result, kind: event.body.kind });
    if (view.counts.gaps > gaps) this.metrics.replicaLostTotal.inc({ what: 'gap' }, view.counts.gaps - gaps);
    if (live && result === 'applied') this.metrics.replicaStalenessSeconds.observe(Math.max(0, ageMs) / 1000);
    return result === 'applied';
  }

  private tick(): void {
    this.emit({ kind: 'heartbeat', inFlight: this.inFlight });
    this.check();
  }

  /** Drops replicas past the bound; the timer calls it each heartbeat (tests call it after moving their clock). */
  check(): string[] {
    const view = this.view;
    if (!view || !this.caughtUp) return [];
    const { dead, dropped } = view.counts;
    const gone = view.expire(this.clock.now());
    if (view.counts.dead > dead) this.metrics.replicaLostTotal.inc({ what: 'dead' }, view.counts.dead - dead);
    if (view.counts.dropped > dropped)
      this.metrics.replicaLostTotal.inc({ what: 'dropped' }, view.counts.dropped - dropped);
    this.metrics.replicaPeers.set(view.replicas);
    this.metrics.replicaRemoteInFlight.set(view.remoteInFlight);
    for (const id of gone) this.log.info({ replica: id }, 'an ext-proc replica stopped counting');
    return gone;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    this.markReady();
  }
}
