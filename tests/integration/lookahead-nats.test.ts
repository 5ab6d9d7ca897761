// The scheduler's levers end to end, over a real nats-server, the Envoy-faithful client
// and two simulated model servers on loopback: once the workflow is proactive, requests
// are placed by KV feasibility and headroom (one server reports a full KV cache), carry a
// priority (header and vLLM body field), and a warm request sent when a stage completes
// turns the next agent's first request into a prefix-cache hit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EnvoyExtProcClient } from '../../test-support/src/envoy-ext-proc-client.js';
import { type Stack, startStack } from '../../test-support/src/stack.js';
import { forward } from '../../test-support/src/forward.js';
import { getHeader } from '../../test-support/src/header-mutation.js';
import { connect } from 'nats';
import { parseConfig } from '../../common/src/config/load.js';
import { STARTS_SUBJECT } from '../../core/src/wire/subjects.js';
import { decodeRequestStart } from '../../core/src/wire/codec.js';
import type { RequestStart } from '../../core/src/wire/request-start.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import type { ExtProcService } from '../../ext-proc/src/adapters/service.js';
import { FakeModelServer } from '../../test-support/src/fake-model-server.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  async function playSession(session: string) {
    const results = [];
    for (const [i, stage] of SHAPE.entries()) {
      results.push(
        ...(await Promise.all(
          stage.map((agent, k) =>
            request(session, agent, `${session} step ${i}.${k}`, i === SHAPE.length - 1),
          ),
        )),
      );
      await sleep(80); // tool time between stages
    }
    return results;
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
      scheduler: { scrape_interval_ms: 100, prefix: { ttl_s: 1, block_bytes: 256 } },
      profiler: {
        admin: '127.0.0.1:0',
        session_idle_s: 1,
        end_grace_s: 0.1,
        rebuild_interval_s: 0.2,
        promotion: { min_sessions: 8, min_scored: 10 },
      },
    });
    stack = await startStack(config, captureLogger('test', 'warn').log);
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
    // Shadow phase: reactive least-request routing spreads sessions over both servers.
    for (let i = 0; i < 16; i += 4) {
      await Promise.all([0, 1, 2, 3].map((k) => playSession(`learn-${i + k}`)));
      await sleep(300); // let a model be built from the first sessions, so later ones are scored
    }
    assert.ok(full.received.length > 0, 'reactive (shadow) routing ignores the reported KV pressure');
    await waitFor('a proactive triage model', () => extProc.models.get('triage')?.model.mode === 'proactive');

    // A clean slate: both servers drop their caches, our prefix index forgets (1 s TTL).
    for (const s of [full, roomy]) {
      await fetch(`http://${s.address}/reset_prefix_cache`, { method: 'POST' });
      s.received.length = 0;
    }
    await sleep(1200);

    // The autoscaler's early signal: each routed workflow request is announced on core NATS.
    const watcher = await connect({ servers: nats.url });
    const starts: RequestStart[] = [];
    watcher.subscribe(STARTS_SUBJECT, { callback: (_err, m) => starts.push(decodeRequestStart(m.data)) });
    await watcher.flush();
    const before = Date.now();
    const planner = await request('fresh', 'planner', 'fresh step 0', false);
    assert.equal(planner.status, 200);
    const start = await waitFor('the planner start on NATS', () => starts.find((s) => s.session === 'fresh'));
    assert.deepEqual(
      { workflow: start.workflow, agent: start.agent, pool: start.pool },
      { workflow: 'triage', agent: 'planner', pool: 'pool' },
    );
    assert.ok(start.startUnixMs >= before - 5 && start.startUnixMs <= Date.now() && start.requestId !== '');
    await watcher.close();
    assert.equal(planner.upstream, roomy.address, 'feasibility keeps it off the full server');
    assert.equal(
      getHeader(planner.request.kind === 'continue' ? planner.request.headers : [], 'x-pythia-mode'),
      'proactive',
    );
    const priority = Number(
      getHeader(planner.request.kind === 'continue' ? planner.request.headers : [], 'x-pythia-priority'),
    );
    assert.ok(priority >= 0 && priority <= 100, `priority ${priority}`);
    const plannerBody = roomy.received.find((r) => r.headers['x-pythia-agent'] === 'planner')?.body;
    assert.equal(plannerBody?.['priority'], priority, 'priority written into the vLLM body field');

    // The planner's stage is done: the explorer prefix is warmed where the explorers will run.
    const warm = await waitFor('the warm request', () =>
      roomy.received.find((r) => r.headers['x-pythia-warm'] === '1'),
    );
    assert.equal(warm.body['max_tokens'], 1);
    assert.equal(warm.body['priority'], 100, 'a warm is the least urgent request on a priority pool');
    assert.equal((warm.body['messages'] as Array<{ content: string }>)[0]?.content, SYSTEM['explorer']);
    assert.equal(full.received.length, 0);

    await sleep(80);
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
