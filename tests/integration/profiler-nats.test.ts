// End to end over a real nats-server: ext-proc streams (Envoy-faithful client) -> traces
// in JetStream -> profiler -> model in KV -> ext-proc hot reload -> annotations. Then a
// profiler restart and a NATS restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_FILTER, EnvoyExtProcClient } from '../../test-support/src/envoy-ext-proc-client.js';
import { getHeader } from '../../test-support/src/header-mutation.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { type SessionPlan, stagesOf } from '../../test-support/src/workloads/session-plan.js';
import { parseConfig } from '../../common/src/config/load.js';
import type { PythiaConfig } from '../../common/src/config/schema.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';
import { type ProfilerService, startProfiler } from '../../profiler/src/adapters/service.js';

const MODEL = 'llama';
const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

function config(natsUrl: string): PythiaConfig {
  return parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'info',
    // No model servers listen at these addresses: no scraping, no warming.
    scheduler: { scrape_interval_ms: 0, levers: { warming: false } },
    nats: { url: natsUrl },
    pools: [
      {
        name: 'pool',
        models: [MODEL],
        endpoints: [{ address: '127.0.0.1:8000' }, { address: '127.0.0.2:8000' }],
      },
    ],
    profiler: {
      admin: '127.0.0.1:0',
      session_idle_s: 1,
      end_grace_s: 0.1,
      rebuild_interval_s: 0.2,
      promotion: { min_sessions: 10, min_scored: 20 },
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Plays one session through the gateway: stages in order, parallel steps at once. */
async function playSession(
  client: EnvoyExtProcClient,
  plan: SessionPlan,
  endMarker = true,
): Promise<Array<Array<[string, string]>>> {
  const seen: Array<Array<[string, string]>> = [];
  const stages = stagesOf(plan);
  for (const [i, steps] of stages.entries()) {
    const last = i === stages.length - 1;
    const results = await Promise.all(
      steps.map((step) =>
        client.roundTrip(
          [
            [':method', 'POST'],
            [':path', '/v1/chat/completions'],
            ['x-pythia-workflow', plan.workflow],
            ['x-pythia-session', plan.session],
            ['x-pythia-agent', step.agent],
            ...(last && endMarker ? ([['x-pythia-session-end', 'true']] as Array<[string, string]>) : []),
          ],
          [
            Buffer.from(
              JSON.stringify({
                model: MODEL,
                messages: [{ role: 'user', content: 'x'.repeat(step.newTokens) }],
              }),
            ),
          ],
          {
            status: 200,
            headers: [['content-type', 'text/event-stream']],
            chunks: [
              Buffer.from(
                `data: {"choices":[],"usage":{"prompt_tokens":${step.prefixTokens + step.newTokens},"completion_tokens":${step.outputTokens}}}\n\ndata: [DONE]\n\n`,
              ),
            ],
          },
        ),
      ),
    );
    for (const r of results) seen.push(r.request.kind === 'continue' ? r.request.headers : []);
    await sleep(70); // tool time: stages must not start within the 50 ms parallel window
  }
  return seen;
}

async function playAll(
  client: EnvoyExtProcClient,
  plans: SessionPlan[],
  concurrency = 10,
  endMarker = true,
): Promise<void> {
  for (let i = 0; i < plans.length; i += concurrency) {
    await Promise.all(plans.slice(i, i + concurrency).map((p) => playSession(client, p, endMarker)));
  }
}

describe('profiler over NATS', { skip }, () => {
  let nats: TestNatsServer;
  let extProc: ExtProcService;
  let profiler: ProfilerService;
  let client: EnvoyExtProcClient;
  let cfg: PythiaConfig;
  const logs = captureLogger('test', 'info');

  before(async () => {
    nats = await TestNatsServer.start();
    cfg = config(nats.url);
    extProc = await startExtProc(cfg, {
      log: logs.log.child({ service: 'ext-proc' }),
      collectProcessMetrics: false,
    });
    profiler = await startProfiler(cfg, {
      log: logs.log.child({ service: 'profiler' }),
      collectProcessMetrics: false,
    });
    await profiler.started;
    client = new EnvoyExtProcClient(`127.0.0.1:${extProc.grpcPort}`, DEFAULT_FILTER);
    await client.waitForReady();
  });

  after(async () => {
    client?.close();
    await profiler?.stop();
    await extProc?.stop();
    await nats?.stop();
  });

  test('learns from live traffic, promotes, and the next request is annotated', async () => {
    const plans = codingWorkload({ sessions: 30, ratePerS: 1, seed: 21 });
    // Before any model: workflow traffic is routed, with no prediction headers.
    const first = await playSession(client, plans[0] as SessionPlan);
    assert.equal(getHeader(first[0] ?? [], 'x-pythia-mode'), undefined);
    await playAll(client, plans.slice(1));
    const model = await waitFor('a proactive coding model in ext-proc', () => {
      const m = extProc.models.get('coding')?.model;
      return m?.mode === 'proactive' ? m : null;
    });
    assert.equal(model.regex, 'planner explorer[3,4] engineer{3,6} reviewer verifier');
    // Admin API of the profiler.
    const res = await fetch(`http://127.0.0.1:${profiler.adminPort}/v1/models`);
    const body = (await res.json()) as { workflows: Array<Record<string, any>> };
    const coding = body.workflows.find((w) => w['workflow'] === 'coding');
    assert.equal(coding?.['mode'], 'proactive');
    assert.ok(coding?.['agents']['engineer']['output_tokens']['p99'] > 0);
    // A new session's planner request carries the predictions.
    const next = codingWorkload({ sessions: 1, ratePerS: 1, seed: 99 })[0] as SessionPlan;
    const headers = await playSession(client, { ...next, session: 'fresh-session' });
    const planner = headers[0] ?? [];
    assert.equal(getHeader(planner, 'x-pythia-mode'), 'proactive');
    assert.equal(getHeader(planner, 'x-pythia-next-agents'), 'explorer=1.00');
    assert.ok(Number(getHeader(planner, 'x-pythia-predicted-output-tokens')) > 0);
    // The first explorer request of the fan-out predicts the engineer loop next.
    assert.match(getHeader(headers[1] ?? [], 'x-pythia-next-agents') ?? '', /^engineer=1\.00$/);
    const metrics = await extProc.metrics.registry.metrics();
    assert.match(metrics, /pythia_ext_proc_traces_published_total \d+/);
  });

  test('malformed payloads on the traces subject are counted and dropped; models stay', async () => {
    const { connect } = await import('nats');
    const nc = await connect({ servers: nats.url });
    const js = nc.jetstream();
    await js.publish('pythia.traces.v1', Buffer.from('definitely not protobuf \u0000\u00ff'));
    await js.publish('pythia.traces.v1', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    await nc.close();
    await waitFor('malformed traces counted', async () => {
      const m = await profiler.metrics.tracesTotal.get();
      return (m.values.find((v) => v.labels['result'] === 'malformed')?.value ?? 0) >= 2;
    });
    assert.equal(profiler.core.models().find((m) => m.workflow === 'coding')?.mode, 'proactive');
  });

  test('a profiler restart loses no acknowledged or in-flight trace', async () => {
    await waitFor('earlier sessions completed', () => profiler.core.openSessions === 0);
    await profiler.flush();
    const before = profiler.core.models().find((m) => m.workflow === 'coding')?.sessions ?? 0;
    // Sessions without end markers stay open (unacknowledged) until they go idle...
    const plans = codingWorkload({ sessions: 5, ratePerS: 1, seed: 31 }).map((p) => ({
      ...p,
      session: `restart-${p.session}`,
    }));
    await playAll(client, plans, 5, false);
    await waitFor('traces published', () => extProc.traces?.pending === 0);
    await sleep(200);
    // ...and the profiler stops before they do.
    await profiler.stop();
    profiler = await startProfiler(cfg, {
      log: logs.log.child({ service: 'profiler-2' }),
      collectProcessMetrics: false,
    });
    await profiler.started;
    const restored = profiler.core.models().find((m) => m.workflow === 'coding');
    assert.ok((restored?.sessions ?? 0) >= before, 'completed sessions restored from the sessions stream');
    // Redelivered traces complete their sessions after the idle timeout.
    const after = await waitFor('the open sessions learned after restart', () => {
      const m = profiler.core.models().find((x) => x.workflow === 'coding');
      return m && m.sessions >= before + 5 ? m : null;
    });
    assert.equal(after.sessions, before + 5, 'each session learned exactly once');
  });

  test('ext-proc keeps serving through a NATS restart and publishes what it buffered', async () => {
    await nats.kill();
    const plans = codingWorkload({ sessions: 3, ratePerS: 1, seed: 41 }).map((p) => ({
      ...p,
      session: `outage-${p.session}`,
    }));
    const headers = await Promise.race([
      Promise.all(plans.map((p) => playSession(client, p))),
      sleep(15_000).then(() => {
        throw new Error('requests stalled while NATS was down');
      }),
    ]);
    for (const session of headers)
      for (const h of session) assert.ok(getHeader(h, 'x-pythia-cluster'), 'routed during the outage');
    // Models stay in force while NATS is away.
    assert.equal(getHeader(headers[0]?.[0] ?? [], 'x-pythia-mode'), 'proactive');
    assert.ok((extProc.traces?.pending ?? 0) > 0, 'traces wait in the buffer');
    await nats.restart();
    await waitFor(
      'buffered traces published after NATS came back',
      () => extProc.traces?.pending === 0,
      30_000,
    );
    const sessionsBefore = profiler.core.models().find((m) => m.workflow === 'coding')?.sessions ?? 0;
    await waitFor(
      'the profiler learning the outage sessions',
      () =>
        (profiler.core.models().find((m) => m.workflow === 'coding')?.sessions ?? 0) >= sessionsBefore + 3,
      30_000,
    );
  });
});
