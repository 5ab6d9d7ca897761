// The simulated replicas: one engine per replica, stepped in virtual time while it has work,
// with each request's callbacks (first token, completion); and, under autoscaling, their
// lifecycle (stopped -> starting for the model load -> ready -> draining -> stopped) and the
// GPU time they were on.
import { type EngineOptions, ReplicaEngine, type SimRequest, type StepOutcome } from './engine.js';
import type { EventQueue } from './event-queue.js';
import type { ReplicaProfile } from './profiles.js';

export interface SimPool {
  readonly name: string;
  readonly models: readonly string[];
  /** Replicas of the pool (the most it may have, under autoscaling). */
  readonly replicas: number;
  readonly profile: ReplicaProfile;
}

export type ReplicaState = 'stopped' | 'starting' | 'ready' | 'draining';

export interface Replica {
  readonly address: string;
  readonly pool: string;
  readonly engine: ReplicaEngine;
  stepping: boolean;
  state: ReplicaState;
  /** When this replica last started (for GPU-seconds). */
  onSinceMs: number;
  gpuMs: number;
}

export interface RequestCallbacks {
  readonly onFirst: (ms: number) => void;
  readonly onDone: (ms: number, cachedTokens: number) => void;
}

/** What a replica's /metrics says: requests waiting and running, KV usage. */
export function engineLoad(r: Replica): { waiting: number; running: number; kvUsage: number } {
  return { waiting: r.engine.numWaiting, running: r.engine.numRunning, kvUsage: r.engine.kvUsage };
}

const FIRST_PORT = 20000;

export class ReplicaFleet {
  readonly replicas: Replica[] = [];
  private readonly byAddress = new Map<string, Replica>();
  private readonly pending = new Map<string, RequestCallbacks>();
  /** Called after each engine step's completions (the oracle gate releases held requests). */
  afterStep: (() => void) | null = null;

  constructor(
    private readonly queue: EventQueue,
    pools: readonly SimPool[],
    policy: 'fcfs' | 'priority',
    /** Engine extras for every replica (e.g. a host-memory KV tier). */
    engineOptions?: EngineOptions,
  ) {
    let port = FIRST_PORT;
    for (const pool of pools) {
      for (let i = 0; i < pool.replicas; i++) {
        const replica: Replica = {
          address: `127.0.0.1:${port++}`,
          pool: pool.name,
          engine: new ReplicaEngine(pool.profile, policy, engineOptions),
          stepping: false,
          state: 'ready',
          onSinceMs: 0,
          gpuMs: 0,
        };
        this.replicas.push(replica);
        this.byAddress.set(replica.address, replica);
      }
    }
  }

  get(address: string): Replica | undefined {
    return this.byAddress.get(address);
  }

  ofPool(pool: string): Replica[] {
    return this.replicas.filter((r) => r.pool === pool);
  }

  /** Queues a request on a replica's engine; the callbacks run as its engine steps. */
  submit(replica: Replica, request: SimRequest, callbacks: RequestCallbacks): void {
    this.pending.set(request.id, callbacks);
    replica.engine.submit(request);
    if (!replica.stepping) {
      replica.stepping = true;
      this.queue.schedule(this.queue.now, () => this.step(replica));
    }
  }

  private step(replica: Replica): void {
    const outcome: StepOutcome | null = replica.engine.step(this.queue.now);
    if (!outcome) {
      replica.stepping = false;
      return;
    }
    const end = this.queue.now + outcome.durationMs;
    this.queue.schedule(end, () => {
      for (const f of outcome.firstTokens) this.pending.get(f.id)?.onFirst(end);
      for (const r of outcome.finished) {
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        p?.onDone(end, r.cachedTokens);
      }
      this.step(replica);
      this.afterStep?.();
    });
  }

  /** Autoscaling from the start: the first `initial` replicas of each pool on, the rest stopped. */
  startWith(initial: number): void {
    const seen = new Map<string, number>();
    for (const r of this.replicas) {
      const index = seen.get(r.pool) ?? 0;
      seen.set(r.pool, index + 1);
      r.state = index < initial ? 'ready' : 'stopped';
    }
  }

  /**
   * Brings a pool to `target` replicas on (starting or ready): stopped replicas start and
   * serve after the model load (`onReady` then runs), draining ones are taken back first;
   * extra ones drain, newest first, and stop once idle.
   */
  resize(pool: SimPool, target: number, onReady: () => void): void {
    const now = this.queue.now;
    const own = this.ofPool(pool.name);
    const on = own.filter((r) => r.state === 'starting' || r.state === 'ready');
    let delta = target - on.length;
    for (const r of own) {
      if (delta > 0 && r.state === 'stopped') {
        r.state = 'starting';
        r.onSinceMs = now;
        this.queue.schedule(now + pool.profile.modelLoadS * 1000, () => {
          if (r.state === 'starting') r.state = 'ready';
          onReady();
        });
        delta--;
      } else if (delta > 0 && r.state === 'draining') {
        r.state = 'ready';
        delta--;
      }
    }
    for (const r of [...on].reverse()) {
      if (delta >= 0) break;
      r.state = 'draining';
      delta++;
    }
    for (const r of own) {
      if (r.state === 'draining' && r.engine.idle) {
        r.state = 'stopped';
        r.gpuMs += now - r.onSinceMs;
      }
    }
  }

  /** Replicas not stopped in a pool. */
  onCount(pool: string): number {
    return this.ofPool(pool).filter((r) => r.state !== 'stopped').length;
  }

  /** GPU-seconds until `endMs`: the time each replica was on, or all of them all along. */
  gpuSeconds(endMs: number, autoscaled: boolean): number {
    if (!autoscaled) return this.replicas.length * (endMs / 1000);
    return (
      this.replicas.reduce((a, r) => a + r.gpuMs + (r.state === 'stopped' ? 0 : endMs - r.onSinceMs), 0) /
      1000
    );
  }

  /** Engine counters summed over the replicas. */
  total(
    counter:
      | 'promptTokensTotal'
      | 'cachedTokensTotal'
      | 'preemptionsTotal'
      | 'hostTokensTotal'
      | 'retainedTokensTotal'
      | 'busyMsTotal'
      | 'prefillMsTotal',
  ): number {
    return this.replicas.reduce((a, r) => a + r.engine[counter], 0);
  }
}
