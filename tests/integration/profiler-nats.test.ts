// End to end over a real nats-server: ext-proc streams (Envoy-faithful client) -> traces
// in JetStream -> profiler -> model in KV -> ext-proc hot reload -> annotations. Then a
// profiler restart and a NATS restart. Time is the test's: ext-proc's clock moves by the
// tool time between stages and the profiler's only when the test lets idle sessions end,
// so stages, idle timeouts and rebuilds never depend on how busy the machine is.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { getHeader, type HeaderList } from '../../test-support/src/header-mutation.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { type SessionPlan, stagesOf } from '../../test-support/src/workloads/session-plan.js';
import { connect } from 'nats';
import { parseConfig } from '../../common/src/config/load.js';
import type { PythiaConfig } from '../../common/src/config/schema.js';
import { decodeSessionSummary } from '../../core/src/wire/codec.js';
import { SESSION_STREAM } from '../../core/src/wire/subjects.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { playInRounds } from '../../test-support/src/rounds.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';
import { type ProfilerService, startProfiler } from '../../profiler/src/adapters/service.js';

const MODEL = 'llama';
const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
/** Between stages: any gap works (stages follow causality, not speed); a short one keeps that honest. */
const TOOL_TIME_MS = 2;
const SESSION_IDLE_S = 1;

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
      session_idle_s: SESSION_IDLE_S,
      // A session ends with its end-marker trace (the stream is in order, so its other traces
      // are in): no clock is needed for that; only the idle timeout waits for the test.
      end_grace_s: 0,
      rebuild_interval_s: 0.2,
      promotion: { min_sessions: 10, min_scored: 20 },
    },
  });
}

/** One step through the gateway: request side, a canned streamed answer, response side. */
function playStep(
  client: EnvoyExtProcClient,
  plan: SessionPlan,
  step: SessionPlan['steps'][number],
  sessionEnd: boolean,
) {
  return client.roundTrip(
    [
      [':method', 'POST'],
      [':path', '/v1/chat/completions'],
      ['x-pythia-workflow', plan.workflow],
      ['x-pythia-session', plan.session],
      ['x-pythia-agent', step.agent],
      ...(sessionEnd ? ([['x-pythia-session-end', 'true']] as HeaderList) : []),
    ],
    [
      Buffer.from(
        JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(step.newTokens) }] }),
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
  );
}

describe('profiler over NATS', { skip }, () => {
  let nats: TestNatsServer;
  let extProc: ExtProcService;
  let profiler: ProfilerService;
  let client: EnvoyExtProcClient;
  let cfg: PythiaConfig;
  const logs = captureLogger('test', 'info');
  const gatewayClock = new ManualClock();
  const profilerClock = new ManualClock();

  function newProfiler(name: string): Promise<ProfilerService> {
    return startProfiler(cfg, {
      log: logs.log.child({ service: name }),
      collectProcessMetrics: false,
      now: profilerClock.now,
    });
  }

  /** Each session's request headers as they went upstream, and how many requests (traces) there were. */
  async function playAll(
    plans: readonly SessionPlan[],
    endMarker = true,
  ): Promise<{ headers: HeaderList[][]; requests: number }> {
    const results = await playInRounds(
      plans.map((p) => stagesOf(p)),
      (i, step, lastStage) => playStep(client, plans[i] as SessionPlan, step, endMarker && lastStage),
      () => gatewayClock.advance(TOOL_TIME_MS),
    );
    return {
      headers: results.map((session) =>
        session.map((r) => (r.request.kind === 'continue' ? r.request.headers : [])),
      ),
      requests: results.reduce((n, session) => n + session.length, 0),
    };
  }

  async function accepted(): Promise<number> {
    const m = await profiler.metrics.tracesTotal.get();
    return m.values.find((v) => v.labels['result'] === 'accepted')?.value ?? 0;
  }

  /**
   * Every trace played so far is at the profiler: the sessions that ended are complete, and
   * the model is rebuilt from them (rebuilds wait for the test: the profiler's clock is still).
   */
  async function settle(acceptedTraces: number): Promise<void> {
    await waitFor('every trace at the profiler', async () => (await accepted()) >= acceptedTraces);
    await profiler.flush();
  }

  /** Completed sessions as the profiler stored them (its training set): session -> request counts. */
  async function storedSessions(prefix: string): Promise<Map<string, number[]>> {
    const nc = await connect({ servers: nats.url });
    try {
      const out = new Map<string, number[]>();
      const last = (await (await nc.jetstreamManager()).streams.info(SESSION_STREAM)).state.last_seq;
      if (last === 0) return out;
      const messages = await (await nc.jetstream().consumers.get(SESSION_STREAM)).consume();
      for await (const m of messages) {
        const summary = decodeSessionSummary(m.data);
        if (summary.session.startsWith(prefix))
          out.set(summary.session, [...(out.get(summary.session) ?? []), summary.requests.length]);
        if (m.seq >= last) break;
      }
      await messages.close();
      return out;
    } finally {
      await nc.close();
    }
  }

  const codingSessions = () => profiler.core.models().find((m) => m.workflow === 'coding')?.sessions ?? 0;

  before(async () => {
    nats = await TestNatsServer.start();
    cfg = config(nats.url);
    extProc = await startExtProc(cfg, {
      log: logs.log.child({ service: 'ext-proc' }),
      collectProcessMetrics: false,
      clock: gatewayClock,
    });
    profiler = await newProfiler('profiler');
    await profiler.started;
    client = new EnvoyExtProcClient(`127.0.0.1:${extProc.grpcPort}`, TEST_FILTER);
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
    const first = await playAll(plans.slice(0, 1));
    assert.equal(getHeader(first.headers[0]?.[0] ?? [], 'x-pythia-mode'), undefined);
    // Sessions complete batch by batch, so later ones are scored against the model built
    // from the earlier ones, as they are in a live system.
    let traces = first.requests;
    for (let i = 1; i < plans.length; i += 10) {
      traces += (await playAll(plans.slice(i, i + 10))).requests;
      await settle(traces);
    }
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
    const played = await playAll([{ ...next, session: 'fresh-session' }]);
    const headers = played.headers[0] ?? [];
    const planner = headers[0] ?? [];
    assert.equal(getHeader(planner, 'x-pythia-mode'), 'proactive');
    assert.equal(getHeader(planner, 'x-pythia-next-agents'), 'explorer=1.00');
    assert.ok(Number(getHeader(planner, 'x-pythia-predicted-output-tokens')) > 0);
    // The first explorer request of the fan-out predicts the engineer loop next.
    assert.match(getHeader(headers[1] ?? [], 'x-pythia-next-agents') ?? '', /^engineer=1\.00$/);
    const metrics = await extProc.metrics.registry.metrics();
    assert.match(metrics, /pythia_ext_proc_traces_published_total \d+/);
    await settle(traces + played.requests);
  });

  test('malformed payloads on the traces subject are counted and dropped; models stay', async () => {
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
    assert.equal(profiler.core.openSessions, 0, 'earlier sessions completed');
    const before = codingSessions();
    // Sessions without end markers stay open (unacknowledged) until they go idle...
    const plans = codingWorkload({ sessions: 5, ratePerS: 1, seed: 31 }).map((p) => ({
      ...p,
      session: `restart-${p.session}`,
    }));
    const traces = await accepted();
    const { requests } = await playAll(plans, false);
    await waitFor('every trace held by the profiler', async () => (await accepted()) >= traces + requests);
    assert.equal(profiler.core.openSessions, 5);
    // ...and the profiler stops before they do (its clock has not moved).
    await profiler.stop();
    profiler = await newProfiler('profiler-2');
    await profiler.started;
    assert.ok(codingSessions() >= before, 'completed sessions restored from the sessions stream');
    // Every held trace comes back. (nats-server 2.9 hands the first one the stopped profiler
    // gave back to that profiler's abandoned pull request: it returns after the ack wait,
    // session_idle_s * 2 + 30 s, hence the long safety net.)
    await waitFor('every held trace redelivered', async () => (await accepted()) >= requests, 90_000);
    // The idle timeout passes: each session completes whole, and is learned exactly once.
    profilerClock.advance(SESSION_IDLE_S * 1000);
    await profiler.flush();
    assert.equal(codingSessions(), before + 5, 'each session learned exactly once');
    const stored = await storedSessions('restart-');
    assert.deepEqual(
      [...stored.entries()].sort(),
      plans.map((p) => [p.session, [p.steps.length]]).sort(),
      'one complete summary per session',
    );
  });

  test('ext-proc keeps serving through a NATS restart and publishes what it buffered', async () => {
    await nats.kill();
    const plans = codingWorkload({ sessions: 3, ratePerS: 1, seed: 41 }).map((p) => ({
      ...p,
      session: `outage-${p.session}`,
    }));
    const { headers } = await playAll(plans);
    for (const session of headers)
      for (const h of session) assert.ok(getHeader(h, 'x-pythia-cluster'), 'routed during the outage');
    // Models stay in force while NATS is away.
    assert.equal(getHeader(headers[0]?.[0] ?? [], 'x-pythia-mode'), 'proactive');
    assert.ok((extProc.traces?.pending ?? 0) > 0, 'traces wait in the buffer');
    await nats.restart();
    await waitFor('buffered traces published after NATS came back', () => extProc.traces?.pending === 0);
    // Each outage session ends with its end-marker trace: the profiler completes and stores it.
    const learned = await waitFor('the profiler learning the outage sessions', async () => {
      const stored = await storedSessions('outage-');
      return stored.size === plans.length ? stored : null;
    });
    assert.deepEqual(
      [...learned.entries()].sort(),
      plans.map((p) => [p.session, [p.steps.length]]).sort(),
      'one complete summary per session',
    );
  });
});
