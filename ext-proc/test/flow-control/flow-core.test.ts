// Flow control's pure core: the saturation detector, release orders and aging, fairness, and
// the controller (hold, release to a good endpoint, bounds, TTL, cancel) on a hand-driven
// clock and timers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterState, type EndpointState } from '../../../core/src/cluster/cluster-state.js';
import { OverloadedError } from '../../../core/src/errors.js';
import { FairShare } from '../../src/core/flow-control/fairness.js';
import {
  FlowController,
  HELD_ENTRY_BYTES,
  type FlowOutcome,
  type FlowRequest,
  type FlowRouter,
  type Ranking,
  type ReleaseReason,
} from '../../src/core/flow-control/flow-controller.js';
import { orderKey } from '../../src/core/flow-control/ordering.js';
import { SaturationDetector } from '../../src/core/flow-control/saturation.js';
import { FLOW_OFF, type FlowSettings } from '../../src/core/flow-control/settings.js';
import type { RouteDecision } from '../../src/core/routing/route-decision.js';

const A = '10.0.0.1:8000';
const B = '10.0.0.2:8000';

function cluster(): ClusterState {
  return new ClusterState([
    { name: 'p', models: ['m'], endpoints: [{ address: A }, { address: B }], kv_capacity_tokens: 1000 },
  ]);
}
const ep = (c: ClusterState, a: string) => c.endpoint(a) as EndpointState;

describe('saturation detector', () => {
  it('reads the scraped figures against the thresholds; unhealthy counts as saturated', () => {
    const c = cluster();
    const d = new SaturationDetector({ waiting: 2, kvUsage: 0.8, countReservations: true });
    assert.equal(d.saturated(ep(c, A)), false);
    ep(c, A).waiting = 2;
    assert.equal(d.saturated(ep(c, A)), true);
    ep(c, A).waiting = 0;
    ep(c, A).kvUsage = 0.8;
    assert.equal(d.saturated(ep(c, A)), true);
    ep(c, A).kvUsage = 0;
    ep(c, A).healthy = false;
    assert.equal(d.saturated(ep(c, A)), true);
  });

  it('adds what was dispatched since the scrape and takes off what ended; a scrape resets', () => {
    const c = cluster();
    const d = new SaturationDetector({ waiting: 2, kvUsage: 0.8, countReservations: true });
    d.dispatched(A, 500);
    assert.equal(d.kvUsage(ep(c, A)), 0.5);
    d.dispatched(A, 300);
    assert.equal(d.saturated(ep(c, A)), true, 'KV 0.8 by our reservations');
    d.completed(A, 300);
    assert.equal(d.saturated(ep(c, A)), false);
    ep(c, B).waiting = 1;
    d.dispatched(B, 0);
    assert.equal(d.waiting(ep(c, B)), 2, 'a waiting queue grows by what we send');
    d.completed(B, 0);
    assert.equal(d.waiting(ep(c, B)), 1);
    d.scraped();
    assert.equal(d.kvUsage(ep(c, A)), 0);
    const scrapedOnly = new SaturationDetector({ waiting: 2, kvUsage: 0.8, countReservations: false });
    scrapedOnly.dispatched(A, 900);
    assert.equal(scrapedOnly.saturated(ep(c, A)), false, 'llm-d: scraped figures only');
  });
});

describe('release orders', () => {
  const f = { arrivalMs: 100_000, sessionStartMs: 10_000, urgency: 0.5, promptTokens: 700 };
  it('keys each policy', () => {
    assert.equal(orderKey('fcfs', f, 30_000), 100_000);
    assert.equal(orderKey('oldest-session-first', f, 30_000), 10_000);
    assert.equal(orderKey('workflow-aware', f, 30_000), 10_000 - 15_000);
    assert.equal(orderKey('wspt', f, 30_000), 700);
  });
});

describe('fair share (weighted least attained service)', () => {
  it('serves the flow with the fewest weighted tokens; a new flow starts at the least', () => {
    const fair = new FairShare(new Map([['gold', 2]]));
    fair.activate('gold');
    fair.activate('free');
    fair.charge('gold', 1000);
    fair.charge('free', 600);
    assert.deepEqual(fair.order(['free', 'gold']), ['gold', 'free'], 'gold 500 weighted < free 600');
    fair.activate('late');
    assert.equal(fair.attainedOf('late'), 500);
    fair.deactivate('gold');
    assert.equal(fair.attainedOf('gold'), 0);
  });
});

interface Req {
  readonly name: string;
  /** Scores per endpoint (both kept by the filters). */
  readonly scores: Readonly<Record<string, number>>;
}

class Harness {
  now = 0;
  readonly c = cluster();
  readonly timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  readonly deferred: Array<() => void> = [];
  readonly committed: Array<{ name: string; endpoint: string }> = [];
  readonly decisions: RouteDecision[] = [];
  readonly abandoned: string[] = [];
  readonly outcomes: Array<{ name: string; outcome: FlowOutcome }> = [];
  readonly releases: ReleaseReason[] = [];
  readonly flow: FlowController<Req>;

  constructor(settings: Partial<FlowSettings> = {}) {
    const router: FlowRouter<Req> = {
      rank: (r): Ranking => ({
        candidates: [A, B]
          .map((a) => ({ endpoint: ep(this.c, a), score: r.scores[a] ?? 0 }))
          .sort((x, y) => y.score - x.score),
        weight: 1,
      }),
      commit: (r, only): RouteDecision => {
        const endpoint = [A, B]
          .filter((a) => only === null || only.has(a))
          .sort((x, y) => (r.scores[y] ?? 0) - (r.scores[x] ?? 0))[0] as string;
        this.committed.push({ name: r.name, endpoint });
        const decision: RouteDecision = {
          pool: 'p',
          endpoint,
          fallbacks: [],
          profile: 'x',
          priority: null,
          enginePriority: null,
          prediction: null,
          retention: null,
        };
        this.decisions.push(decision);
        return decision;
      },
      abandon: (r) => this.abandoned.push(r.name),
    };
    this.flow = new FlowController<Req>(
      { ...FLOW_OFF, enabled: true, policy: 'fcfs', agingBoundMs: 30_000, ...settings },
      {
        clock: { now: () => this.now, wallNow: () => this.now },
        timers: {
          at: (at, fn) => {
            const t = { at, fn, live: true };
            this.timers.push(t);
            return () => {
              t.live = false;
            };
          },
          defer: (fn) => this.deferred.push(fn),
        },
        cluster: this.c,
        router,
        events: {
          held: () => {},
          released: (_p, _w, reason) => this.releases.push(reason),
          shed: () => {},
          cancelled: () => {},
        },
        workflowLabel: () => 'none',
        sessionBounds: { maxEntries: 100, maxBytes: 1 << 20, idleMs: 1e9 },
      },
    );
  }

  saturate(address: string, on: boolean): void {
    ep(this.c, address).waiting = on ? 1 : 0;
  }

  admit(name: string, scores: Record<string, number>, extra: Partial<FlowRequest<Req>> = {}) {
    return this.flow.admit(
      {
        prepared: { name, scores },
        tenant: null,
        workflow: null,
        session: null,
        bytes: 100,
        promptTokens: 10,
        tokens: 20,
        urgency: 0,
        ...extra,
      },
      (outcome) => this.outcomes.push({ name, outcome }),
    );
  }

  /** Runs deferred deliveries and timers due by `now`. */
  advance(toMs: number): void {
    this.now = toMs;
    for (const t of this.timers) {
      if (t.live && t.at <= toMs) {
        t.live = false;
        t.fn();
      }
    }
    this.flushDeferred();
  }

  flushDeferred(): void {
    while (this.deferred.length > 0) (this.deferred.shift() as () => void)();
  }

  completed(endpoint: string): void {
    this.flow.completed({
      pool: 'p',
      endpoint,
      fallbacks: [],
      profile: 'x',
      priority: null,
      enginePriority: null,
      prediction: null,
      retention: null,
    });
  }
}

describe('flow controller', () => {
  it('routes at once among the free endpoints when nobody waits', () => {
    const h = new Harness();
    h.saturate(A, true);
    const a = h.admit('r1', { [A]: 1, [B]: 0.5 });
    assert.equal(a.kind, 'routed');
    assert.deepEqual(h.committed, [{ name: 'r1', endpoint: B }]);
    assert.deepEqual(h.releases, ['immediate']);
  });

  it('holds while every endpoint is saturated and releases to the preferred one, not the first free', () => {
    const h = new Harness();
    h.saturate(A, true);
    h.saturate(B, true);
    const a = h.admit('prefers-a', { [A]: 1, [B]: 0.2 });
    assert.equal(a.kind, 'held');
    assert.equal(h.flow.depth('p'), 1);
    // B frees up first: not good enough for a request that prefers A.
    h.saturate(B, false);
    h.flow.scraped();
    h.flushDeferred();
    assert.equal(h.outcomes.length, 0);
    // A frees up: released there, delivered outside the call.
    h.saturate(A, false);
    h.flow.scraped();
    assert.equal(h.outcomes.length, 0, 'never synchronously');
    h.flushDeferred();
    assert.equal(h.outcomes[0]?.outcome.kind, 'routed');
    assert.deepEqual(h.committed, [{ name: 'prefers-a', endpoint: A }]);
    assert.deepEqual(h.releases, ['preferred']);
  });

  it('takes an equally good endpoint, and the best free one after prefer_hold', () => {
    const h = new Harness({ scoreTolerance: 0.1, preferHoldMs: 5000 });
    h.saturate(A, true);
    h.saturate(B, true);
    h.admit('near-tie', { [A]: 1, [B]: 0.95 });
    h.admit('far', { [A]: 1, [B]: 0.1 });
    h.saturate(B, false);
    h.flow.scraped();
    h.flushDeferred();
    assert.deepEqual(h.committed, [{ name: 'near-tie', endpoint: B }]);
    assert.deepEqual(h.releases, ['equivalent']);
    // B is free again at the next scrape; 'far' waits for A until prefer_hold has passed.
    h.now = 4000;
    h.flow.scraped();
    assert.equal(h.committed.length, 1);
    h.now = 5000;
    h.flow.scraped();
    h.flushDeferred();
    assert.deepEqual(h.committed[1], { name: 'far', endpoint: B });
    assert.deepEqual(h.releases, ['equivalent', 'fallback']);
  });

  it('counts its own dispatches until the next scrape, and releases when a request ends', () => {
    const h = new Harness({ saturation: { waiting: 1, kvUsage: 0.5, countReservations: true } });
    h.saturate(A, true);
    h.saturate(B, true);
    h.admit('x', { [A]: 1 }, { tokens: 600 });
    h.admit('y', { [A]: 1 }, { tokens: 600 });
    h.saturate(A, false);
    // A scrape shows A free: x goes; its 600 tokens (0.6 of A's KV) saturate A again.
    h.flow.scraped();
    h.flushDeferred();
    assert.deepEqual(
      h.committed.map((c) => c.name),
      ['x'],
    );
    // x ends: y goes, without waiting for a scrape.
    h.flow.completed(h.decisions[0] as RouteDecision);
    h.flushDeferred();
    assert.deepEqual(
      h.committed.map((c) => c.name),
      ['x', 'y'],
    );
    assert.equal(h.flow.depth('p'), 0);
  });

  it('sheds past the count and byte bounds, and at the TTL (abandoning the prepared request)', () => {
    const h = new Harness({ maxQueued: 1, maxQueuedBytes: 1 << 20, ttlMs: 10_000, retryAfterS: 3 });
    h.saturate(A, true);
    h.saturate(B, true);
    assert.equal(h.admit('first', {}).kind, 'held');
    const full = h.admit('second', {});
    assert.equal(full.kind, 'shed');
    if (full.kind === 'shed') {
      assert.ok(full.error instanceof OverloadedError);
      assert.equal(full.error.httpStatus, 429);
      assert.equal((full.error as OverloadedError).retryAfterS, 3);
    }
    assert.deepEqual(h.abandoned, ['second']);
    h.advance(9_999);
    assert.equal(h.outcomes.length, 0);
    h.advance(10_000);
    assert.equal(h.outcomes[0]?.name, 'first');
    assert.equal(h.outcomes[0]?.outcome.kind, 'shed');
    assert.deepEqual(h.abandoned, ['second', 'first']);
    assert.equal(h.flow.depth('p'), 0);
    // One held request counts its 100 body bytes plus its overhead (HELD_ENTRY_BYTES): two
    // exceed twice the overhead.
    const bytes = new Harness({ maxQueuedBytes: 2 * HELD_ENTRY_BYTES });
    bytes.saturate(A, true);
    bytes.saturate(B, true);
    assert.equal(bytes.admit('a', {}).kind, 'held');
    assert.equal(bytes.admit('b', {}).kind, 'shed');
  });

  it('a cancelled request leaves at once and is never delivered', () => {
    const h = new Harness();
    h.saturate(A, true);
    h.saturate(B, true);
    const a = h.admit('gone', { [A]: 1 });
    assert.equal(a.kind, 'held');
    if (a.kind === 'held') h.flow.cancel(a.ticket);
    assert.equal(h.flow.depth('p'), 0);
    assert.deepEqual(h.abandoned, ['gone']);
    h.saturate(A, false);
    h.flow.scraped();
    h.advance(120_000);
    assert.equal(h.outcomes.length, 0);
    assert.deepEqual(h.committed, []);
  });

  /** One release at a time: each dispatch fills A (KV), each end frees it. */
  const serial = (settings: Partial<FlowSettings>) => {
    const h = new Harness({ ...settings, saturation: { waiting: 1, kvUsage: 0.5, countReservations: true } });
    h.saturate(A, true);
    h.saturate(B, true);
    return h;
  };
  const drain = (h: Harness): string[] => {
    h.saturate(A, false);
    h.flow.scraped();
    h.flushDeferred();
    while (h.flow.depth('p') > 0) {
      h.flow.completed(h.decisions[h.decisions.length - 1] as RouteDecision);
      h.flushDeferred();
    }
    return h.committed.map((c) => c.name);
  };

  it('orders by policy, sessions aged from their start (capped), not from their hold', () => {
    const run = (policy: FlowSettings['policy'], lateMs: number, capMs = 600_000): string[] => {
      const h = serial({ policy, agingBoundMs: 30_000, sessionAgeCapMs: capMs });
      // An old session's first request, a young session's, then the old session again.
      h.now = 0;
      h.admit('old-1', { [A]: 1 }, { session: 'w/old', tokens: 600 });
      h.now = 1000;
      h.admit('young', { [A]: 1 }, { session: 'w/young', tokens: 600 });
      h.now = lateMs;
      h.admit('old-2', { [A]: 1 }, { session: 'w/old', tokens: 600 });
      return drain(h);
    };
    assert.deepEqual(run('fcfs', 20_000), ['old-1', 'young', 'old-2']);
    assert.deepEqual(run('oldest-session-first', 20_000), ['old-1', 'old-2', 'young']);
    // Released at 40 s, 'young' has been held past the 30 s bound and still goes after the older
    // session's request: a burst's holds outlast the bound, and aging by the hold released them FCFS.
    assert.deepEqual(run('oldest-session-first', 40_000), ['old-1', 'old-2', 'young']);
    assert.deepEqual(run('workflow-aware', 40_000), ['old-1', 'old-2', 'young']);
    // The cap: 'old-2' arrives 40 s into its session; with a 20 s cap it is aged from 20 s, after 'young' (1 s).
    assert.deepEqual(run('oldest-session-first', 40_000, 20_000), ['old-1', 'young', 'old-2']);
    const wspt = serial({ policy: 'wspt' });
    wspt.admit('long', { [A]: 1 }, { promptTokens: 9000, tokens: 600 });
    wspt.admit('short', { [A]: 1 }, { promptTokens: 100, tokens: 600 });
    assert.deepEqual(drain(wspt), ['short', 'long']);
  });

  it('releases the flow with the least attained service first (tenants)', () => {
    const h = serial({ fairness: { enabled: true, key: 'tenant', weights: new Map(), maxFlows: 256 } });
    h.admit('big-1', { [A]: 1 }, { tenant: 'big', tokens: 600 });
    h.admit('big-2', { [A]: 1 }, { tenant: 'big', tokens: 600 });
    h.admit('small-1', { [A]: 1 }, { tenant: 'small', tokens: 550 });
    // big-1 first (both flows at 0: by name); then small (550 < 600 attained), then big.
    assert.deepEqual(drain(h), ['big-1', 'small-1', 'big-2']);
  });

  it("counts a held request's flow name and overhead against the byte bound, not its body alone", () => {
    // The tenant comes from a client header: 60 KiB each (Envoy's default header limit), no body.
    const h = serial({
      maxQueuedBytes: 1024 * 1024,
      fairness: { enabled: true, key: 'tenant', weights: new Map(), maxFlows: 256 },
    });
    for (let i = 0; i < 100; i++)
      h.admit(`r${i}`, { [A]: 1 }, { tenant: `${i}-${'t'.repeat(60_000)}`, bytes: 0 });
    assert.ok(h.flow.depth('p') < 100, `${h.flow.depth('p')} held`);
    assert.ok(h.flow.heldBytes('p') <= 1024 * 1024);
    assert.ok(h.flow.depth('p') <= (1024 * 1024) / (2 * 60_000));
  });

  it('bounds the flows per pool: invented tenants share one flow and cannot crowd out a configured one', () => {
    const h = serial({
      fairness: { enabled: true, key: 'tenant', weights: new Map([['gold', 1]]), maxFlows: 3 },
    });
    // A client inventing a tenant per request (names sort before 'gold').
    for (let i = 0; i < 50; i++)
      h.admit(`junk-${i}`, { [A]: 1 }, { tenant: `a${String(i).padStart(2, '0')}`, tokens: 600 });
    h.admit('gold-1', { [A]: 1 }, { tenant: 'gold', tokens: 600 });
    assert.equal(h.flow.flows('p'), 5, 'three flows, the shared one, and the configured one');
    const order = drain(h);
    assert.ok(order.indexOf('gold-1') < 5, `gold released at ${order.indexOf('gold-1')}`);
    assert.equal(order.length, 51);
  });
});
