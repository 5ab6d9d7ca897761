// The seam: requests admitted through the gateway core's flow gate by a RequestLifecycle, with
// the real router, scheduler and cluster state: held while saturated, routed when released,
// a session's stage count restored when a held request is abandoned, and a release that
// crosses the client going away ended as cancelled (its load released).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../common/src/config/load.js';
import type { FlowOutcome } from '../../src/core/flow-control/flow-controller.js';
import { createGatewayCore } from '../../src/core/routing/gateway-core.js';
import { RequestLifecycle } from '../../src/core/routing/request-lifecycle.js';
import type { RouteInput } from '../../src/core/routing/route-input.js';

const EPS = ['10.0.0.1:8000', '10.0.0.2:8000'];

function setup() {
  let now = 0;
  const deferred: Array<() => void> = [];
  const config = parseConfig({
    // A single waiting request saturates here (the default waits for 8): the tests set it.
    scheduler: {
      scrape_interval_ms: 0,
      flow_control: { enabled: true, saturation: { waiting_requests: 1 } },
    },
    pools: [{ name: 'p', models: ['llama'], endpoints: EPS.map((address) => ({ address })) }],
  });
  const clock = { now: () => now, wallNow: () => 1_790_000_000_000 + now };
  const core = createGatewayCore(config, {
    clock,
    random: () => 0.5,
    timers: { at: () => () => {}, defer: (fn) => deferred.push(fn) },
  });
  const flush = () => {
    while (deferred.length > 0) (deferred.shift() as () => void)();
  };
  const saturate = (waiting: number) => {
    for (const a of EPS) (core.cluster.endpoint(a) as { waiting: number }).waiting = waiting;
  };
  const input = (id: string, session: string): RouteInput => ({
    llm: { api: 'chat', model: 'llama', stream: true, maxTokens: 10, bodyBytes: 400, json: {} },
    identity: { workflow: 'coding', session, agent: 'planner' },
    requestId: id,
    exchange: id,
    sessionEnd: false,
  });
  return { core, clock, flush, saturate, input, advance: (ms: number) => (now += ms) };
}

test('without flow control the core has no gate; with it, a saturated pool holds and a scrape releases', () => {
  const off = createGatewayCore(
    parseConfig({ pools: [{ name: 'p', models: ['llama'], endpoints: [{ address: EPS[0] }] }] }),
    { clock: { now: () => 0, wallNow: () => 0 }, random: () => 0.5 },
  );
  assert.equal(off.flow, null);
  assert.throws(
    () =>
      createGatewayCore(
        parseConfig({
          scheduler: { flow_control: { enabled: true } },
          pools: [{ name: 'p', models: ['llama'], endpoints: [] }],
        }),
        { clock: { now: () => 0, wallNow: () => 0 }, random: () => 0.5 },
      ),
    /flow control needs timers/,
  );

  const s = setup();
  s.saturate(2);
  const lifecycle = new RequestLifecycle(s.core.router, s.clock, s.core.flow);
  lifecycle.start();
  const outcomes: FlowOutcome[] = [];
  const admission = lifecycle.admit(s.input('r1', 's1'), null, (o) => outcomes.push(o));
  assert.equal(admission.kind, 'held');
  assert.equal(lifecycle.held, true);
  assert.equal(lifecycle.open, false, 'not routed while held');
  const inFlight = () => EPS.reduce((n, a) => n + (s.core.cluster.endpoint(a)?.inFlight ?? 0), 0);
  assert.equal(inFlight(), 0, 'a held request reserves nothing');
  s.saturate(0);
  s.core.flow?.scraped();
  s.flush();
  assert.equal(outcomes[0]?.kind, 'routed');
  assert.equal(lifecycle.open, true);
  assert.equal(inFlight(), 1);
  lifecycle.end({ outputTokens: 3, reported: true, promptTokens: 100, cachedTokens: 0, outputText: '' });
  assert.equal(inFlight(), 0);
});

test('abandoned while held: the queue forgets it and its session stage; a release already on its way ends cancelled', () => {
  const s = setup();
  s.saturate(2);
  const gone = new RequestLifecycle(s.core.router, s.clock, s.core.flow);
  gone.start();
  assert.equal(gone.admit(s.input('r1', 's1'), null, () => assert.fail('never delivered')).kind, 'held');
  assert.equal(s.core.sessions.running({ workflow: 'coding', session: 's1', agent: 'planner' }), 1);
  gone.abandon();
  assert.equal(s.core.flow?.controller.depth(), 0);
  assert.equal(s.core.sessions.running({ workflow: 'coding', session: 's1', agent: 'planner' }), 0);

  // Released, then the client goes away before the answer is delivered.
  const late = new RequestLifecycle(s.core.router, s.clock, s.core.flow);
  late.start();
  assert.equal(late.admit(s.input('r2', 's2'), null, () => assert.fail('never delivered')).kind, 'held');
  s.saturate(0);
  s.core.flow?.scraped();
  late.abandon();
  s.flush();
  const inFlight = EPS.reduce((n, a) => n + (s.core.cluster.endpoint(a)?.inFlight ?? 0), 0);
  assert.equal(inFlight, 0, 'the released request was ended at once');
  assert.equal(late.open, false);
});
