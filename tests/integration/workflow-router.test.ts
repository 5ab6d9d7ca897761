// The router's levers on the pure gateway core: proactive workflows get lookahead
// placement, priority and warming; shadow ones and plain traffic get the reactive profile;
// each lever can be switched off on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { parseConfig } from '../../common/src/config/load.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import type { WorkflowModel } from '../../core/src/workflow/workflow-model.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { createGatewayCore } from '../../ext-proc/src/core/routing/gateway-core.js';
import { parseLlmRequest } from '../../ext-proc/src/core/envoy/openai-request.js';
import type { CompletedRequest } from '../../ext-proc/src/core/routing/completed-request.js';
import type { RouteInput } from '../../ext-proc/src/core/routing/route-input.js';
import { type WarmPlan, warmBody } from '../../ext-proc/src/core/routing/warm-planner.js';
import { enginePriority } from '../../ext-proc/src/core/routing/priority.js';

const WALL_MS = Date.UTC(2026, 5, 1);
/** The default aging bound (`scheduler.priority.aging_bound_s`). */
const AGING_MS = 30_000;

const learned = buildOffline(
  synthesizeTraces(codingWorkload({ sessions: 80, ratePerS: 1, seed: 3 })),
  CORE_CONFIG,
).models[0] as WorkflowModel;

function core(
  levers: Record<string, boolean> = {},
  mode: 'proactive' | 'shadow' = 'proactive',
  sessionControl = false,
) {
  let now = 0;
  const warms: WarmPlan[] = [];
  const config = parseConfig({
    pools: [
      {
        name: 'p',
        models: ['llama'],
        endpoints: [{ address: '127.0.0.1:1' }, { address: '127.0.0.1:2' }],
        priority_field: true,
        session_control_field: sessionControl,
      },
    ],
    // Warming is off by default; these tests are about what each lever does.
    scheduler: { levers: { warming: true, ...levers }, scrape_interval_ms: 0 },
  });
  const c = createGatewayCore(config, {
    clock: { now: () => now, wallNow: () => WALL_MS + now },
    random: () => 0.5,
    warmSender: { send: (plan) => warms.push(plan) },
  });
  c.models.set({ ...learned, mode, version: 1 });
  return { c, warms, advance: (ms: number) => (now += ms), wall: () => WALL_MS + now };
}

function input(agent: string, session = 's1'): RouteInput {
  const body = Buffer.from(
    JSON.stringify({
      model: 'llama',
      messages: [
        { role: 'system', content: `You are the ${agent}. `.repeat(50) },
        { role: 'user', content: 'go' },
      ],
    }),
  );
  return {
    llm: parseLlmRequest(body, 'chat'),
    identity: { workflow: 'coding', session, agent },
    requestId: `${session}-${agent}`,
    exchange: `${session}-${agent}`,
    sessionEnd: false,
  };
}

const ok = (output = 'done'): CompletedRequest =>
  ({
    status: 'OK',
    usage: { outputTokens: 1, reported: true, promptTokens: 1, cachedTokens: 0, outputText: output },
  }) as CompletedRequest;
test('proactive: pythia placement, priority for the header and the engine, and a warm after the stage', () => {
  const { c, warms, advance, wall } = core();
  c.router.complete(c.router.route(input('explorer', 'other')), input('explorer', 'other'), ok()); // learn the explorer prompt
  advance(700_000); // ...and let the prefix index forget where it ran (ttl 600 s)
  const planner = c.router.route(input('planner'));
  assert.equal(planner.profile, 'pythia');
  assert.equal(planner.prediction?.mode, 'proactive');
  assert.deepEqual(planner.prediction?.nextAgents, [{ role: 'explorer', probability: 1 }]);
  assert.ok((planner.prediction?.outputBound ?? 0) > 0);
  assert.ok(planner.priority !== null && planner.priority >= 0 && planner.priority <= 100);
  assert.equal(
    planner.enginePriority,
    enginePriority(planner.priority, wall(), AGING_MS),
    'the priority pool gets the same priority, aged',
  );
  advance(500);
  c.router.complete(planner, input('planner'), ok());
  assert.equal(warms.length, 1);
  assert.equal(warms[0]?.agent, 'explorer');
  // The pool schedules by priority: the warm goes behind every real request of its time.
  assert.equal(warms[0]?.priority, enginePriority(100, wall(), AGING_MS));
  assert.equal(JSON.parse(warmBody(warms[0]!))['priority'], warms[0]?.priority);
  // The warm carries the explorer's system prompt, then the session so far (the planner's
  // request after its system prompt, and its output).
  assert.deepEqual(
    warms[0]?.messages.slice(1).map((m) => m.role),
    ['user', 'assistant'],
  );
  assert.equal(warms[0]?.messages[2]?.content, 'done');
  assert.equal(c.affinity.reservation('coding', 's1', 700_600)?.endpoint, warms[0]?.endpoint);
  // A second session right after: the prefix is now believed cached there, so no new warm.
  const p2 = c.router.route(input('planner', 's2'));
  c.router.complete(p2, input('planner', 's2'), ok());
  assert.equal(warms.length, 1);
  assert.equal(c.affinity.reservation('coding', 's2', 700_600)?.agent, 'explorer', 'still reserved');
});

test('each lever switches off alone', () => {
  const noPlacement = core({ placement: false });
  assert.equal(noPlacement.c.router.route(input('planner')).profile, 'least-request');
  const noPriority = core({ priority: false });
  const r = noPriority.c.router.route(input('planner'));
  assert.equal(r.priority, null);
  assert.equal(
    r.enginePriority,
    enginePriority(50, noPriority.wall(), AGING_MS),
    'neutral priority for a priority_field pool',
  );
  const noWarming = core({ warming: false });
  const p = noWarming.c.router.route(input('planner'));
  noWarming.c.router.complete(p, input('planner'), ok());
  assert.equal(noWarming.warms.length, 0);
});

test('the engine priority ages a session from its start: an older session goes first, a shadow one too', () => {
  for (const mode of ['proactive', 'shadow'] as const) {
    const { c, advance } = core({}, mode);
    const old1 = c.router.route(input('planner', 'old'));
    advance(500);
    c.router.complete(old1, input('planner', 'old'), ok());
    advance(60_000); // two aging bounds later a new session starts...
    const fresh = c.router.route(input('planner', 'new'));
    advance(120_000); // ...and the old session's next step arrives well after it
    const old2 = c.router.route(input('explorer', 'old'));
    assert.ok(
      (old2.enginePriority ?? 0) < (fresh.enginePriority ?? 0),
      `${mode}: the older session's later request runs first (${old2.enginePriority} < ${fresh.enginePriority})`,
    );
    advance(700_000); // past scheduler.priority.session_age_cap_s (600 s): no longer ahead
    const old3 = c.router.route(input('explorer', 'old'));
    const fresh2 = c.router.route(input('explorer', 'new'));
    assert.ok((old3.enginePriority ?? 0) > (fresh.enginePriority ?? 0), `${mode}: capped`);
    assert.ok(
      Math.abs((old3.enginePriority ?? 0) - (fresh2.enginePriority ?? 0)) <= 100,
      `${mode}: both capped alike`,
    );
  }
});

test('shadow workflows are annotated and placed by the shadow profile (the cost model, no predictions), without priority or warming', () => {
  const { c, warms, wall } = core({}, 'shadow');
  const r = c.router.route(input('planner'));
  assert.equal(r.profile, 'pythia');
  assert.equal(r.prediction?.mode, 'shadow');
  assert.equal(r.priority, null);
  assert.equal(r.enginePriority, enginePriority(50, wall(), AGING_MS), 'not proactive: the neutral priority');
  c.router.complete(r, input('planner'), ok());
  assert.equal(warms.length, 0);
  // Plain traffic (no workflow identity) keeps the reactive profile; so does everything with
  // placement off.
  assert.equal(c.router.route({ ...input('planner'), identity: null }).profile, 'least-request');
  assert.equal(
    core({ placement: false }, 'shadow').c.router.route(input('planner')).profile,
    'least-request',
  );
});

test('in-flight footprint is reserved at routing and released at completion', () => {
  const { c } = core();
  const r = c.router.route(input('engineer'));
  const ep = c.cluster.endpoint(r.endpoint);
  assert.ok((ep?.local.reservedTokens ?? 0) > 0);
  assert.ok((ep?.local.decodeTokens ?? 0) > 0);
  c.router.complete(r, input('engineer'), ok());
  assert.deepEqual(ep?.local, { inFlight: 0, reservedTokens: 0, overflowSum: 0, decodeTokens: 0 });
});

test('workflow requests are announced to the trace sink as they are routed; plain ones are not', () => {
  const starts: Array<{ session: string; agent: string; pool: string; startUnixMs: number }> = [];
  const traces: string[] = [];
  const config = parseConfig({
    pools: [{ name: 'p', models: ['llama'], endpoints: [{ address: '127.0.0.1:1' }] }],
    scheduler: { scrape_interval_ms: 0 },
  });
  const c = createGatewayCore(config, {
    clock: { now: () => 5, wallNow: () => 1_790_000_000_000 },
    random: () => 0.5,
    traces: { publish: (t) => traces.push(t.requestId), started: (s) => starts.push(s) },
  });
  const routed = c.router.route(input('planner'));
  assert.equal(routed.enginePriority, null, 'a pool without priority_field keeps the body');
  assert.deepEqual(starts, [
    {
      requestId: 's1-planner',
      exchange: 's1-planner',
      workflow: 'coding',
      session: 's1',
      agent: 'planner',
      pool: 'p',
      startUnixMs: 1_790_000_000_000,
    },
  ]);
  assert.deepEqual(traces, [], 'the trace comes at completion');
  c.router.complete(routed, input('planner'), {
    ...ok(),
    requestId: 's1-planner',
    identity: input('planner').identity,
  } as CompletedRequest);
  assert.deepEqual(traces, ['s1-planner']);
  c.router.route({ ...input('planner'), identity: null });
  assert.equal(starts.length, 1, 'no identifiers, no start');
});

test('retention: a proactive request whose next agent is likely asks to keep its KV for the learned tool time', () => {
  const planner = learned.agents.find((a) => a.agent === 'planner');
  assert.ok(planner && planner.toolTimeP90Ms > 0);
  const { c } = core({ retention: true }, 'proactive', true);
  const r = c.router.route(input('planner'));
  // The default margin (1 s) over the planner's learned p90 tool time; no fan-out in flight.
  assert.deepEqual(r.retention, { key: 's1', ttlMs: planner.toolTimeP90Ms + 1000 });
  c.router.complete(r, input('planner'), ok());
  const last = c.router.route({ ...input('verifier'), sessionEnd: true });
  assert.deepEqual(last.retention, { key: 's1', ttlMs: 0 }, 'the last request releases the session');
  // Not without the lever, nor to a pool whose servers do not take the hint, nor in shadow.
  assert.equal(core({}, 'proactive', true).c.router.route(input('planner')).retention, null);
  assert.equal(
    core({ retention: true }, 'proactive', false).c.router.route(input('planner')).retention,
    null,
  );
  assert.equal(core({ retention: true }, 'shadow', true).c.router.route(input('planner')).retention, null);
});
