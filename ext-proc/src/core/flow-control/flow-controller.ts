// Flow control: while every endpoint that could serve a request is saturated, the request is
// held here instead of piling onto the engines' own queues, and released in the order of the
// configured policy (sessions aged from their start, and weighted least-attained-service fairness between flows)
// when its preferred endpoint, or one the scheduler scores as good, is no longer saturated:
// never simply to the first endpoint that frees up, which would throw cache affinity away.
// Bounded per pool (count, bytes); a request held past its TTL, or past a bound, is shed
// (the edge answers 429 with retry-after). The byte bound counts each held request's body
// (raw, and its parsed form's heap cost), its flow name (the tenant comes from a client header
// of any length) and a measured fixed overhead;
// the flows per pool are bounded (fairness.max_flows; further flows not configured share
// one). Event-driven: releases happen on arrivals, scrapes
// and request ends, and a timer per held request sheds it at its TTL; nothing polls. Pure:
// time, timers and the router come in through the dependencies.
import type { ClusterState, EndpointState } from '../../../../core/src/cluster/cluster-state.js';
import type { Clock } from '../../../../core/src/clock.js';
import { OverloadedError, PythiaError } from '../../../../core/src/errors.js';
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';
import type { Bounds } from '../../../../core/src/bounded/bounds.js';
import { jsonValueBytes, stringBytes } from '../../../../core/src/bounded/memory-cost.js';
import type { RouteDecision } from '../routing/route-decision.js';
import { FairShare } from './fairness.js';
import { agedFrom } from '../routing/priority.js';
import { orderKey } from './ordering.js';
import { SaturationDetector } from './saturation.js';
import type { FlowSettings } from './settings.js';

export interface RankedEndpoint {
  readonly endpoint: EndpointState;
  readonly score: number;
}

/** The scheduler's view of one request: the endpoints left after its filters, best first. */
export interface Ranking {
  readonly candidates: readonly RankedEndpoint[];
  /** The profile's summed scorer weights: the scale of the scores. */
  readonly weight: number;
}

/** What flow control asks of the router, for a request it prepared (see WorkflowRouter.prepare). */
export interface FlowRouter<P> {
  rank(prepared: P): Ranking;
  /** Routes it now, among `only` when given. Throws what the router throws. */
  commit(prepared: P, only: ReadonlySet<string> | null): RouteDecision;
  /** It will never be routed (shed or cancelled while held). */
  abandon(prepared: P): void;
}

export interface FlowTimers {
  /** Runs `fn` at clock time `atMs`; returns a function that cancels it. */
  at(atMs: number, fn: () => void): () => void;
  /** Runs `fn` soon, outside the current call. */
  defer(fn: () => void): void;
}

export type ReleaseReason = 'immediate' | 'preferred' | 'equivalent' | 'fallback' | 'head';
export type ShedReason = 'queue_full' | 'queue_bytes' | 'ttl' | 'route_error';

export interface FlowEvents {
  held(pool: string, workflow: string): void;
  released(pool: string, workflow: string, reason: ReleaseReason, waitS: number): void;
  shed(pool: string, workflow: string, reason: ShedReason, waitS: number): void;
  cancelled(pool: string, workflow: string, waitS: number): void;
}

export interface FlowRequest<P> {
  readonly prepared: P;
  /** Tenant from the configured header; null when absent. */
  readonly tenant: string | null;
  readonly workflow: string | null;
  /** `workflow/session`, null without a session. */
  readonly session: string | null;
  /** Request-body bytes held. */
  readonly bytes: number;
  /** The parsed body the request holds (its heap cost is estimated only if it is held). */
  readonly parsed?: unknown;
  readonly promptTokens: number;
  /** Tokens of work: prompt plus expected output (fairness charge, KV estimate). */
  readonly tokens: number;
  /** How much releasing it first helps its workflow, in [0, 1]. */
  readonly urgency: number;
}

export type FlowOutcome =
  | { readonly kind: 'routed'; readonly decision: RouteDecision }
  | { readonly kind: 'shed'; readonly error: PythiaError };

export type FlowAdmission = FlowOutcome | { readonly kind: 'held'; readonly ticket: FlowTicket };

/** A held request, for cancelling it. */
export interface FlowTicket {
  readonly id: number;
}

interface Held<P> extends FlowTicket {
  readonly request: FlowRequest<P>;
  readonly pool: string;
  readonly flow: string;
  /** Counted against max_queued_bytes: body (raw and parsed), flow name (twice: queue and fair share), overhead. */
  readonly bytes: number;
  readonly label: string;
  readonly key: number;
  readonly arrivalMs: number;
  readonly onLater: (outcome: FlowOutcome) => void;
  cancelTimer: (() => void) | null;
  /** Set while the admitting call itself may release it (the outcome is then returned). */
  syncOutcome: FlowOutcome | null;
  sync: boolean;
  done: boolean;
}

interface FlowList<P> {
  /** By key, then arrival. */
  readonly byKey: Held<P>[];
}

interface PoolQueue<P> {
  readonly pool: string;
  /** Held requests per flow. */
  readonly flows: Map<string, FlowList<P>>;
  count: number;
  bytes: number;
}

export interface FlowControllerDeps<P> {
  readonly clock: Clock;
  readonly timers: FlowTimers;
  readonly cluster: ClusterState;
  readonly router: FlowRouter<P>;
  readonly events: FlowEvents | null;
  /** The workflow label for metrics (bounded: unknown workflows share one). */
  readonly workflowLabel: (workflow: string | null) => string;
  /** Bounds of the table of sessions' first-seen times (oldest-session-first). */
  readonly sessionBounds: Bounds;
}

/** Bytes of one first-seen entry besides its key (Map slot, number). */
const SESSION_ENTRY_BYTES = 96;

/**
 * Bytes one held request keeps alive besides its raw body, parsed body and flow name: its
 * stream's state, the prepared route, the held entry and its slots in two lists, its TTL timer
 * and closures. Measured with `npm run bench:cardinality -- --measure` (heap and off-heap
 * growth after full collections over 50k held requests, less the body and its parsed
 * estimate: 1.5 KiB for a plain request, 2.0 KiB for a workflow one), and checked against a
 * smaller measurement by bench/test/held-cost.test.ts. Raised by 256 B when every request got
 * its exchange id: a workflow request with a 258 B body then measured 3,816-3,876 B in all
 * against 3,785 B counted.
 */
export const HELD_ENTRY_BYTES = 2560;

/**
 * Bytes a held request is counted for against `max_queued_bytes`: its raw body (sent on when
 * it is released), the parsed body the router holds (jsonValueBytes: prompt text costs about a
 * byte a character, structure far more than its text), the fixed overhead and the flow name.
 */
export function heldRequestBytes(bodyBytes: number, parsed: unknown, flow: string): number {
  return bodyBytes + jsonValueBytes(parsed) + HELD_ENTRY_BYTES + 2 * stringBytes(flow);
}

/** The flow the held requests of flows past fairness.max_flows share (no header can name it). */
export const OVERFLOW_FLOW = '\u0001overflow';

export class FlowController<P> {
  private readonly detector: SaturationDetector;
  private readonly fair: FairShare;
  private readonly queues = new Map<string, PoolQueue<P>>();
  private readonly tokensOf = new WeakMap<RouteDecision, number>();
  private readonly sessionStarts: BoundedMap<string, number>;
  private nextId = 1;
  private passing = false;
  private passAgain = false;

  constructor(
    readonly settings: FlowSettings,
    private readonly deps: FlowControllerDeps<P>,
  ) {
    this.detector = new SaturationDetector(settings.saturation);
    this.fair = new FairShare(settings.fairness.weights);
    this.sessionStarts = new BoundedMap({
      ...deps.sessionBounds,
      now: () => deps.clock.now(),
      sizeOf: (key) => SESSION_ENTRY_BYTES + stringBytes(key),
    });
  }

  /** Flows with held requests in a pool. */
  flows(pool: string): number {
    return this.queues.get(pool)?.flows.size ?? 0;
  }

  /** Estimated bytes held in a pool (bodies, flow names, overhead). */
  heldBytes(pool: string): number {
    return this.queues.get(pool)?.bytes ?? 0;
  }

  /** Held requests in a pool (all pools without one). */
  depth(pool?: string): number {
    if (pool !== undefined) return this.queues.get(pool)?.count ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.count;
    return n;
  }

  saturated(ep: EndpointState): boolean {
    return this.detector.saturated(ep);
  }

  /**
   * Routes the request now if an endpoint for it is not saturated and nobody waits; else
   * holds it (`onLater` gets the outcome, never synchronously) or sheds it past a bound.
   * Throws what the router throws when routing it now.
   */
  admit(request: FlowRequest<P>, onLater: (outcome: FlowOutcome) => void): FlowAdmission {
    const now = this.deps.clock.now();
    // Aged as the engine priority is (priority.ts agedFrom): from the session's start, at most
    // the cap before its arrival. Held requests were once aged from their own hold instead
    // (overdue past the bound, then FCFS): a burst's holds last longer than the bound, so the
    // queue released in arrival order and every session advanced a step at a time, the young
    // sessions' steps then holding up the drain; research lost its mean gain (259 vs 239 s).
    const sessionStartMs = agedFrom(
      now,
      this.sessionStart(request.session, now),
      this.settings.sessionAgeCapMs,
    );
    const ranking = this.deps.router.rank(request.prepared);
    const first = ranking.candidates[0];
    // No candidate (none healthy): the router answers it (503) at once.
    if (!first) return this.routeNow(request, null);
    const pool = first.endpoint.pool;
    const queue = this.queues.get(pool);
    if (!queue || queue.count === 0) {
      const free = ranking.candidates.filter((c) => !this.detector.saturated(c.endpoint));
      if (free.length > 0) {
        const decision = this.routeNow(request, new Set(free.map((c) => c.endpoint.address)));
        if (decision.kind === 'routed')
          this.deps.events?.released(pool, this.deps.workflowLabel(request.workflow), 'immediate', 0);
        return decision;
      }
    }
    const label = this.deps.workflowLabel(request.workflow);
    const q = queue ?? this.newQueue(pool);
    const s = this.settings;
    const flow = this.flowOf(request, q);
    const bytes = heldRequestBytes(request.bytes, request.parsed, flow);
    if (q.count >= s.maxQueued || q.bytes + bytes > s.maxQueuedBytes) {
      const reason: ShedReason = q.count >= s.maxQueued ? 'queue_full' : 'queue_bytes';
      this.deps.router.abandon(request.prepared);
      this.deps.events?.shed(pool, label, reason, 0);
      return { kind: 'shed', error: this.overloaded(pool, reason) };
    }
    const held: Held<P> = {
      id: this.nextId++,
      request,
      pool,
      flow,
      bytes,
      label,
      key: orderKey(
        s.policy,
        {
          arrivalMs: now,
          sessionStartMs,
          urgency: request.urgency,
          promptTokens: request.promptTokens,
        },
        s.agingBoundMs,
      ),
      arrivalMs: now,
      onLater,
      cancelTimer: null,
      syncOutcome: null,
      sync: true,
      done: false,
    };
    this.insert(q, held);
    this.deps.events?.held(pool, label);
    held.cancelTimer = this.deps.timers.at(now + s.ttlMs, () => this.expire(held));
    this.pass(pool);
    held.sync = false;
    if (held.syncOutcome) return held.syncOutcome;
    return { kind: 'held', ticket: held };
  }

  /** The stream of a held request went away: it leaves the queue at once. */
  cancel(ticket: FlowTicket): void {
    const held = ticket as Held<P>;
    if (held.done) return;
    this.remove(held);
    this.deps.router.abandon(held.request.prepared);
    this.deps.events?.cancelled(held.pool, held.label, this.waitedS(held));
  }

  /** New scraped figures arrived for the endpoints. */
  scraped(): void {
    this.detector.scraped();
    this.passAll();
  }

  /** A request routed through here ended (however it ended). */
  completed(decision: RouteDecision): void {
    const tokens = this.tokensOf.get(decision);
    if (tokens === undefined) return;
    this.tokensOf.delete(decision);
    this.detector.completed(decision.endpoint, tokens);
    this.passAll();
  }

  private sessionStart(session: string | null, now: number): number {
    if (session === null) return now;
    const seen = this.sessionStarts.get(session);
    if (seen !== undefined) return seen;
    this.sessionStarts.set(session, now);
    return now;
  }

  private flowOf(r: FlowRequest<P>, q: PoolQueue<P>): string {
    const f = this.settings.fairness;
    if (!f.enabled) return '';
    const tenant = r.tenant ?? '';
    const workflow = r.workflow ?? '';
    const name = f.key === 'tenant' ? tenant : f.key === 'workflow' ? workflow : `${tenant}/${workflow}`;
    // A flow already held, or a configured one, keeps its own share; past the bound the rest share one.
    if (q.flows.has(name) || f.weights.has(name) || q.flows.size < f.maxFlows) return name;
    return OVERFLOW_FLOW;
  }

  private overloaded(pool: string, reason: ShedReason): OverloadedError {
    const why =
      reason === 'ttl'
        ? 'the request waited too long for a free model server'
        : 'too many requests are waiting for a model server';
    return new OverloadedError(`pool '${pool}' is saturated: ${why}; retry later`, this.settings.retryAfterS);
  }

  private newQueue(pool: string): PoolQueue<P> {
    const q: PoolQueue<P> = { pool, flows: new Map(), count: 0, bytes: 0 };
    this.queues.set(pool, q);
    return q;
  }

  private insert(q: PoolQueue<P>, held: Held<P>): void {
    let lists = q.flows.get(held.flow);
    if (!lists) {
      lists = { byKey: [] };
      q.flows.set(held.flow, lists);
      if (this.settings.fairness.enabled) this.fair.activate(`${held.pool}\u0000${held.flow}`);
    }
    const list = lists.byKey;
    // Binary search: after every entry with a key <= this one (ties keep arrival order).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid] as Held<P>).key <= held.key) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, held);
    q.count++;
    q.bytes += held.bytes;
  }

  private remove(held: Held<P>): void {
    held.done = true;
    held.cancelTimer?.();
    held.cancelTimer = null;
    const q = this.queues.get(held.pool);
    const lists = q?.flows.get(held.flow);
    if (!q || !lists) return;
    const i = lists.byKey.indexOf(held);
    if (i < 0) return;
    lists.byKey.splice(i, 1);
    q.count--;
    q.bytes -= held.bytes;
    if (lists.byKey.length === 0) {
      q.flows.delete(held.flow);
      if (this.settings.fairness.enabled) this.fair.deactivate(`${held.pool}\u0000${held.flow}`);
    }
  }

  private waitedS(held: Held<P>): number {
    return (this.deps.clock.now() - held.arrivalMs) / 1000;
  }

  private deliver(held: Held<P>, outcome: FlowOutcome): void {
    if (held.sync) {
      held.syncOutcome = outcome;
      return;
    }
    this.deps.timers.defer(() => held.onLater(outcome));
  }

  private expire(held: Held<P>): void {
    if (held.done) return;
    held.cancelTimer = null;
    this.remove(held);
    this.deps.router.abandon(held.request.prepared);
    this.deps.events?.shed(held.pool, held.label, 'ttl', this.waitedS(held));
    this.deliver(held, { kind: 'shed', error: this.overloaded(held.pool, 'ttl') });
  }

  /** Routes now (among `only`); records the reservation. Throws what the router throws. */
  private routeNow(request: FlowRequest<P>, only: ReadonlySet<string> | null): FlowOutcome {
    const decision = this.deps.router.commit(request.prepared, only);
    this.detector.dispatched(decision.endpoint, request.tokens);
    this.tokensOf.set(decision, request.tokens);
    return { kind: 'routed', decision };
  }

  private passAll(): void {
    for (const [pool, q] of this.queues) if (q.count > 0) this.pass(pool);
  }

  /** Releases what can be released in a pool, best first, until nothing more can go. */
  private pass(pool: string): void {
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.passAgain = false;
        const q = this.queues.get(pool);
        while (q && q.count > 0 && this.anyFree(pool) && this.releaseOne(q)) {
          /* released one; look again */
        }
      } while (this.passAgain);
    } finally {
      this.passing = false;
    }
  }

  private anyFree(pool: string): boolean {
    const state = this.deps.cluster.pool(pool);
    if (!state) return true;
    return state.endpoints.some((ep) => !this.detector.saturated(ep));
  }

  /** Releases the first held request (fairness, then policy order) that has a good free endpoint. */
  private releaseOne(q: PoolQueue<P>): boolean {
    const fairness = this.settings.fairness.enabled;
    const flows = fairness ? this.fair.order([...q.flows.keys()].map((f) => `${q.pool}\u0000${f}`)) : [''];
    let scanned = 0;
    for (const flowKey of flows) {
      const flow = fairness ? flowKey.slice(q.pool.length + 1) : '';
      const lists = q.flows.get(flow);
      if (!lists) continue;
      for (const held of lists.byKey) {
        if (scanned++ >= this.settings.maxScan) return false;
        if (this.tryRelease(held)) {
          if (fairness) this.fair.charge(flowKey, held.request.tokens);
          return true;
        }
      }
    }
    return false;
  }

  private tryRelease(held: Held<P>): boolean {
    // The peers' queues: the head goes as soon as any endpoint is free, wherever the scheduler sends it.
    if (this.settings.release === 'any-endpoint') return this.release(held, null, 'head');
    const ranking = this.deps.router.rank(held.request.prepared);
    const best = ranking.candidates[0];
    if (!best) return false;
    const s = this.settings;
    const margin = s.scoreTolerance * Math.max(ranking.weight, 1e-9);
    let reason: ReleaseReason = 'preferred';
    let free = ranking.candidates.filter(
      (c) => c.score >= best.score - margin && !this.detector.saturated(c.endpoint),
    );
    if (free.length > 0 && !free.includes(best)) reason = 'equivalent';
    if (free.length === 0 && this.deps.clock.now() - held.arrivalMs >= s.preferHoldMs) {
      const fallback = ranking.candidates.find((c) => !this.detector.saturated(c.endpoint));
      if (fallback) {
        free = [fallback];
        reason = 'fallback';
      }
    }
    if (free.length === 0) return false;
    return this.release(held, new Set(free.map((c) => c.endpoint.address)), reason);
  }

  private release(held: Held<P>, only: ReadonlySet<string> | null, reason: ReleaseReason): boolean {
    this.remove(held);
    const waitS = this.waitedS(held);
    let outcome: FlowOutcome;
    try {
      outcome = this.routeNow(held.request, only);
      this.deps.events?.released(held.pool, held.label, reason, waitS);
    } catch (err) {
      this.deps.router.abandon(held.request.prepared);
      this.deps.events?.shed(held.pool, held.label, 'route_error', waitS);
      outcome = {
        kind: 'shed',
        error: err instanceof PythiaError ? err : this.overloaded(held.pool, 'route_error'),
      };
    }
    this.deliver(held, outcome);
    return true;
  }
}
