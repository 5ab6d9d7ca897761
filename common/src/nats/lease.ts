// Leadership by a lease in NATS KV, for the services that run with a standby (profiler,
// autoscaler). One key per role in the PYTHIA_LEASES bucket; every write is revision-checked
// (create when absent, update at the revision last read), so two candidates never both win.
//
// The rules (LeaseRules) are pure and clock-injected. They never compare clocks of two pods:
// a candidate takes an held lease over only when it has seen the key's revision unchanged for
// a whole TTL by its own clock, and a leader counts itself leader only until its last renewal
// was *sent* plus the TTL minus a margin, also by its own clock. The standby saw that renewal
// after it was sent, so the old leader has stepped down before the standby can take over.
import { hostname } from 'node:os';
import type { KV, NatsConnection } from 'nats';
import type { Logger } from '../logger.js';
import type { NatsLink } from './connection.js';

export const LEASE_BUCKET = 'PYTHIA_LEASES';
/** `nats.lease_ttl_s` when unset. */
export const DEFAULT_LEASE_TTL_S = 5;

/** What a read of the lease key showed. */
export interface LeaseObservation {
  /** The key's revision (0 when it never existed). */
  readonly revision: number;
  /** Who holds it; null when the key is absent or deleted (released). */
  readonly holder: string | null;
}

export type LeaseAction =
  | { readonly kind: 'wait' }
  /** Create the key (it is absent or released). */
  | { readonly kind: 'create' }
  /** Write ourselves at `revision` (a renewal, or a takeover of a lease left to expire). */
  | { readonly kind: 'update'; readonly revision: number };

export class LeaseRules {
  private observed: LeaseObservation | null = null;
  /** When the observed revision was first seen (our clock). */
  private observedSinceMs = 0;
  /** Leader until then (our clock); 0 when not leader. */
  private leaderUntilMs = 0;
  private lastWriteMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** How often the service should read the key and act (a sixth of the TTL). */
  get tickMs(): number {
    return Math.max(10, Math.floor(this.ttlMs / 6));
  }

  /** The leader steps down this long before a standby may take over (clock rates, pauses). */
  get marginMs(): number {
    return Math.floor(this.ttlMs * 0.3);
  }

  observe(o: LeaseObservation, nowMs: number): void {
    if (this.observed?.revision !== o.revision || this.observed.holder !== o.holder)
      this.observedSinceMs = nowMs;
    this.observed = o;
    if (o.holder !== this.holder) this.leaderUntilMs = 0; // someone else wrote it: we lost it
  }

  isLeader(nowMs: number): boolean {
    return nowMs < this.leaderUntilMs;
  }

  /** What to do now, after observe(). */
  decide(nowMs: number): LeaseAction {
    const o = this.observed;
    if (!o) return { kind: 'wait' };
    if (o.holder === null) return { kind: 'create' };
    if (o.holder === this.holder) {
      // Ours: renew every tick (a third of what remains is plenty), or re-take it if it lapsed
      // while nobody else wrote it.
      if (!this.isLeader(nowMs) || nowMs - this.lastWriteMs >= this.tickMs)
        return { kind: 'update', revision: o.revision };
      return { kind: 'wait' };
    }
    // Another holder: take over only after a whole TTL without a renewal.
    if (nowMs - this.observedSinceMs >= this.ttlMs) return { kind: 'update', revision: o.revision };
    return { kind: 'wait' };
  }

  /** A write of ours, sent at `sentAtMs`, succeeded at `revision`. */
  written(revision: number, sentAtMs: number, nowMs: number): void {
    this.lastWriteMs = sentAtMs;
    this.leaderUntilMs = sentAtMs + this.ttlMs - this.marginMs;
    this.observe({ revision, holder: this.holder }, nowMs);
  }

  /** We released the lease (a graceful stop). */
  released(): void {
    this.leaderUntilMs = 0;
  }
}

export interface LeaderLeaseOptions {
  /** The role: one lease per role (`profiler`, `autoscaler`). */
  readonly role: string;
  readonly ttlMs: number;
  readonly log: Logger;
  /** Unix ms by default; tests inject theirs. */
  readonly now?: () => number;
  /** This candidate's name (host, process and a random part by default). */
  readonly holder?: string;
}

export function defaultHolder(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

function holderOf(value: Uint8Array): string | null {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(value)) as { holder?: unknown };
    return typeof parsed.holder === 'string' ? parsed.holder : null;
  } catch {
    return null;
  }
}

/**
 * Keeps trying to lead `role`: reads the key every tick, acts on the rules' decision and calls
 * back when leadership is won or lost. Losing NATS loses leadership once the lease lapses.
 */
export class LeaderLease {
  readonly rules: LeaseRules;
  private readonly now: () => number;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private timer: NodeJS.Timeout | null = null;
  private kv: KV | null = null;
  private kvOf: NatsConnection | null = null;
  private leading = false;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly link: NatsLink,
    private readonly options: LeaderLeaseOptions,
  ) {
    this.rules = new LeaseRules(options.holder ?? defaultHolder(), options.ttlMs);
    this.now = options.now ?? Date.now;
  }

  get holder(): string {
    return this.rules.holder;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Calls back on every change of leadership (true: won). */
  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer) return;
    const run = () => {
      this.ticking = this.ticking.then(() => this.tick());
    };
    this.timer = setInterval(run, this.rules.tickMs);
    this.timer.unref();
    run();
    // And as soon as NATS is there (a single replica leads without waiting for a tick).
    void this.link.ready().then(() => {
      if (!this.stopped) run();
    });
  }

  private setLeading(leader: boolean): void {
    if (leader === this.leading) return;
    this.leading = leader;
    this.options.log.info(
      { role: this.options.role, holder: this.holder, leader },
      leader ? 'became leader' : 'not leader',
    );
    for (const l of this.listeners) l(leader);
  }

  private async bucket(nc: NatsConnection): Promise<KV> {
    if (this.kv && this.kvOf === nc) return this.kv;
    this.kv = await nc.jetstream().views.kv(LEASE_BUCKET, { history: 1 });
    this.kvOf = nc;
    return this.kv;
  }

  /** One read-decide-write round (exposed for tests). */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const nc = this.link.current;
    try {
      if (nc && this.link.connected) {
        const kv = await this.bucket(nc);
        const entry = await kv.get(this.options.role);
        this.rules.observe(
          {
            revision: entry?.revision ?? 0,
            holder: entry && entry.operation === 'PUT' ? holderOf(entry.value) : null,
          },
          this.now(),
        );
        const action = this.rules.decide(this.now());
        if (action.kind !== 'wait' && !this.stopped) {
          const value = new TextEncoder().encode(
            JSON.stringify({ holder: this.holder, ttl_ms: this.options.ttlMs }),
          );
          const sentAt = this.now();
          const revision =
            action.kind === 'create'
              ? await kv.create(this.options.role, value)
              : await kv.update(this.options.role, value, action.revision);
          this.rules.written(revision, sentAt, this.now());
        }
      }
    } catch (err) {
      // A lost race (wrong last sequence) or NATS away: the next tick reads again.
      this.options.log.debug({ err, role: this.options.role }, 'lease round failed');
    }
    this.setLeading(!this.stopped && this.rules.isLeader(this.now()));
  }

  /** Stops trying; a leader releases the lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    const wasLeader = this.rules.isLeader(this.now());
    this.rules.released();
    this.setLeading(false);
    const nc = this.link.current;
    if (!wasLeader || !nc || !this.link.connected) return;
    try {
      const kv = await this.bucket(nc);
      const entry = await kv.get(this.options.role);
      if (entry && holderOf(entry.value) === this.holder)
        await kv.delete(this.options.role, { previousSeq: entry.revision });
    } catch (err) {
      this.options.log.debug({ err, role: this.options.role }, 'lease release failed; it lapses instead');
    }
  }
}
