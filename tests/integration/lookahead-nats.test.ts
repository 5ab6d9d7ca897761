// The scheduler's levers end to end, over a real nats-server, the Envoy-faithful client
// and two simulated model servers on loopback: once the workflow is proactive, requests
// are placed by the cost model (one server reports a full KV cache), carry a
// priority (header and vLLM body field), and a warm request sent when a stage completes
// turns the next agent's first request into a prefix-cache hit. Time is the test's: tool time
// and the prefix index's TTL move ext-proc's clock; the profiler's clock stands still (sessions
// end with their end markers), so nothing depends on how busy the machine is.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { type Stack, startStack } from '../../test-support/src/stack.js';
import { forward } from '../../test-support/src/forward.js';
import { getHeader } from '../../test-support/src/header-mutation.js';
import { connect } from 'nats';
import { parseConfig } from '../../common/src/config/load.js';
import { STARTS_SUBJECT } from '../../core/src/wire/subjects.js';
import { decodeRequestStart } from '../../core/src/wire/codec.js';
import type { RequestStart } from '../../core/src/wire/request-start.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { playInRounds } from '../../test-support/src/rounds.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import type { ExtProcService } from '../../ext-proc/src/adapters/service.js';
import { FakeModelServer } from '../../test-support/src/fake-model-server.js';
import { enginePriority } from '../../ext-proc/src/core/routing/priority.js';

/** The default aging bound of the vLLM priority field (`scheduler.priority.aging_bound_s`). */
const AGING_MS = 30_000;

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
/** Between stages: any gap works (stages follow causality, not speed); a short one keeps that honest. */
const TOOL_TIME_MS = 2;
const PREFIX_TTL_S = 1;

const SYSTEM: Record<string, string> = {
  planner: `You are the planner. ${'Plan the work in small steps. '.repeat(120)}`,
  explorer: `You are an explorer. ${'Read the code and report what matters. '.repeat(220)}`,
  writer: `You are the writer. ${'Write the final answer clearly. '.repeat(100)}`,
};
const SHAPE: string[][] = [['planner'], ['explorer', 'explorer'], ['writer']];

describe('lookahead scheduling and cache warming', { skip }, () => {
  let nats: TestNatsServer;
  let stack: Stack;
  let extProc: ExtProcService;
  let client: EnvoyExtProcClient;
  const full = new FakeModelServer();
  const roomy = new FakeModelServer();
  let clusters: Map<string, string[]>;
  const gatewayClock = new ManualClock();
  const profilerClock = new ManualClock();

  async function request(session: string, agent: string, task: string, last: boolean) {
    const body = Buffer.from(
      JSON.stringify({
        model: 'llama',
        messages: [
          { role: 'system', content: SYSTEM[agent] },
          { role: 'user', content: task },
        ],
        max_tokens: 50,
      }),
    );
    return forward(
      client,
      [
        [':method', 'POST'],
        [':path', '/v1/chat/completions'],
        ['content-type', 'application/json'],
        ['x-pythia-workflow', 'triage'],
        ['x-pythia-session', session],
        ['x-pythia-agent', agent],
        ...(last ? ([['x-pythia-session-end', 'true']] as Array<[string, string]>) : []),
      ],
      body,
      clusters,
      'pool',
    );
  }

  /** Plays sessions together, stage by stage, with tool time between stages; returns the request count. */
  async function playSessions(sessions: readonly string[]): Promise<number> {
    const results = await playInRounds(
      sessions.map((session) =>
        SHAPE.map((stage, i) =>
          stage.map((agent, k) => ({ session, agent, task: `${session} step ${i}.${k}` })),
        ),
      ),
      (_, step, lastStage) => request(step.session, step.agent, step.task, lastStage),
      () => gatewayClock.advance(TOOL_TIME_MS),
    );
    return results.reduce((n, r) => n + r.length, 0);
  }

  /** Every trace is at the profiler; the sessions that ended are learned and the model rebuilt. */
  async function settle(traces: number): Promise<void> {
    const profiler = stack.profiler!;
    await waitFor('every trace at the profiler', async () => {
      const m = await profiler.metrics.tracesTotal.get();
      return (m.values.find((v) => v.labels['result'] === 'accepted')?.value ?? 0) >= traces;
    });
    await profiler.flush();
  }

  before(async () => {
    await full.start();
    await roomy.start();
    full.kvUsage = 0.999; // reports a full KV cache: infeasible for a new request
    roomy.kvUsage = 0.1;
    clusters = new Map([['pool', [full.address, roomy.address]]]);
    nats = await TestNatsServer.start();
    const config = parseConfig({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      log_level: 'warn',
      nats: { url: nats.url },
      pools: [
        {
          name: 'pool',
          models: ['llama'],
          endpoints: [{ address: full.address }, { address: roomy.address }],
          priority_field: true,
        },
      ],
      // The fake servers always answer: no scrape may time out on a busy machine.
      scheduler: {
        scrape_interval_ms: 100,
        scrape_timeout_ms: 60_000,
        prefix: { ttl_s: PREFIX_TTL_S, block_bytes: 256 },
        // Off by default (it did not pay in the bench); this test is about what it does.
        levers: { warming: true },
      },
      profiler: {
        admin: '127.0.0.1:0',
        session_idle_s: 1,
        end_grace_s: 0,
        rebuild_interval_s: 0.2,
        promotion: { min_sessions: 8, min_scored: 10 },
      },
    });
    stack = await startStack(config, captureLogger('test', 'warn').log, {
      filter: TEST_FILTER,
      clock: gatewayClock,
      profilerNow: profilerClock.now,
    });
    extProc = stack.extProc;
    client = stack.client;
  });

  after(async () => {
    await stack?.stop();
    await nats?.stop();
    await full.stop();
    await roomy.stop();
  });

  test('proactive placement, priority and a warmed prefix-cache hit', async () => {
    // Shadow phase: reactive least-request routing spreads sessions over both servers. Each
    // batch is learned before the next is played, so later sessions are scored.
    let traces = 0;
    for (let i = 0; i < 16; i += 4) {
      traces += await playSessions([0, 1, 2, 3].map((k) => `learn-${i + k}`));
      await settle(traces);
    }
    assert.ok(full.received.length > 0, 'reactive (shadow) routing ignores the reported KV pressure');
    await waitFor('a proactive triage model', () => extProc.models.get('triage')?.model.mode === 'proactive');

    // A clean slate: both servers drop their caches, our prefix index forgets (1 s TTL).
    for (const s of [full, roomy]) {
      await fetch(`http://${s.address}/reset_prefix_cache`, { method: 'POST' });
      s.received.length = 0;
    }
    gatewayClock.advance(PREFIX_TTL_S * 1000 + TOOL_TIME_MS);

    // The autoscaler's early signal: each routed workflow request is announced on core NATS.
    const watcher = await connect({ servers: nats.url });
    const starts: RequestStart[] = [];
    watcher.subscribe(STARTS_SUBJECT, { callback: (_err, m) => starts.push(decodeRequestStart(m.data)) });
    await watcher.flush();
    const planner = await request('fresh', 'planner', 'fresh step 0', false);
    assert.equal(planner.status, 200);
    const start = await waitFor('the planner start on NATS', () => starts.find((s) => s.session === 'fresh'));
    assert.deepEqual(
      { workflow: start.workflow, agent: start.agent, pool: start.pool },
      { workflow: 'triage', agent: 'planner', pool: 'pool' },
    );
    assert.equal(start.startUnixMs, gatewayClock.wallNow(), 'stamped when it was routed');
    assert.notEqual(start.requestId, '');
    await watcher.close();
    assert.equal(planner.upstream, roomy.address, 'the wait for KV keeps it off the full server');
    assert.equal(
      getHeader(planner.request.kind === 'continue' ? planner.request.headers : [], 'x-pythia-mode'),
      'proactive',
    );
    const priority = Number(
      getHeader(planner.request.kind === 'continue' ? planner.request.headers : [], 'x-pythia-priority'),
    );
    assert.ok(priority >= 0 && priority <= 100, `priority ${priority}`);
    const plannerBody = roomy.received.find((r) => r.headers['x-pythia-agent'] === 'planner')?.body;
    assert.equal(
      plannerBody?.['priority'],
      enginePriority(priority, start.startUnixMs, AGING_MS),
      'priority written into the vLLM body field, aged',
    );

    // The planner's stage is done: the explorer prefix is warmed where the explorers will run.
    const warm = await waitFor('the warm request', () =>
      roomy.received.find((r) => r.headers['x-pythia-warm'] === '1'),
    );
    assert.equal(warm.body['max_tokens'], 1);
    assert.equal(
      warm.body['priority'],
      enginePriority(100, gatewayClock.wallNow(), AGING_MS),
      'a warm is the least urgent request of its time on a priority pool',
    );
    assert.equal((warm.body['messages'] as Array<{ content: string }>)[0]?.content, SYSTEM['explorer']);
    assert.equal(full.received.length, 0);

    gatewayClock.advance(TOOL_TIME_MS);
    const explorers = await Promise.all(
      [0, 1].map((k) => request('fresh', 'explorer', `fresh step 1.${k}`, false)),
    );
    for (const e of explorers) assert.equal(e.upstream, roomy.address);
    const hits = roomy.received
      .filter((r) => r.headers['x-pythia-agent'] === 'explorer')
      .map((r) => r.cachedTokens);
    const systemTokens = Math.floor(SYSTEM['explorer']!.length / 4);
    assert.ok(
      Math.min(...hits) >= systemTokens * 0.9,
      `explorer requests hit the warmed prefix: ${hits} of ~${systemTokens}`,
    );
    const metrics = await extProc.metrics.registry.metrics();
    assert.match(metrics, /pythia_ext_proc_warm_requests_total\{result="sent"\} [1-9]/);
    assert.match(metrics, /pythia_ext_proc_warm_reservations_total\{result="hit"\} [1-9]/);
  });
});
