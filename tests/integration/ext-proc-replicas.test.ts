// Several real ext-proc replicas on one nats-server, driven by the Envoy-faithful client as
// Envoy spreads ext_proc streams: each request of a session lands on a replica drawn at
// random, and gets the endpoint and annotations it gets when one replica serves them all,
// once the previous request's events have arrived (the test waits on those events, never on
// time). The same holds for sessions that send none of the Pythia headers (only the OpenAI
// body: conversation chaining; or a Claude-Code-style session header), whose identity each
// replica infers and shares. A replica that joins catches up from the PYTHIA_REPLICA stream
// before it reports ready; one that stops is forgotten within ext_proc.replicas.dead_after_ms
// of the test's clock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from 'nats';
import { parseConfig } from '../../common/src/config/load.js';
import type { PythiaConfig } from '../../common/src/config/schema.js';
import { modelBucket } from '../../common/src/nats/setup.js';
import { createNormaliser, fingerprintId } from '../../core/src/identity/fingerprint.js';
import { REPLICA_EVENTS, TRACES } from '../../core/src/wire/channels.js';
import { encodeModel } from '../../core/src/wire/codec.js';
import type { WorkflowModel } from '../../core/src/workflow/workflow-model.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { FakeModelServer } from '../../test-support/src/fake-model-server.js';
import { forward } from '../../test-support/src/forward.js';
import { getHeader } from '../../test-support/src/header-mutation.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { seededRandom } from '../../test-support/src/workloads/rng.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

const model = buildOffline(
  synthesizeTraces(codingWorkload({ sessions: 80, ratePerS: 1, seed: 3 })),
  CORE_CONFIG,
).models[0] as WorkflowModel;

const SHAPE = [['planner'], ['explorer', 'explorer', 'explorer'], ['engineer'], ['engineer'], ['reviewer']];
const SESSIONS = 6;
const TOOL_TIME_MS = 5;
/** What Envoy receives that the decision sets (the body's vLLM priority included). */
const ANNOTATIONS = [
  'x-gateway-destination-endpoint',
  'x-pythia-identity',
  'x-pythia-mode',
  'x-pythia-priority',
  'x-pythia-next-agents',
  'x-pythia-predicted-output-tokens',
];

/**
 * How the sessions identify themselves: the three Pythia headers, or alternately nothing but
 * the body (`none`: conversation chaining) and a Claude-Code-style session header (`native`).
 * `headers+history`: the Pythia headers, and each request is handed the conversation so far
 * (every earlier request's instruction and answer), as agent frameworks do.
 */
type Style = 'headers' | 'headers+history' | 'none+native';

const instructions = (agent: string) => `You are the ${agent}. ${'Work carefully. '.repeat(60)}`;
const roleId = (agent: string) => `r-${fingerprintId(createNormaliser()(instructions(agent)))}`;
/** The inferred names read as the learned model's: the planner's workflow type is `coding`. */
const ALIASES: Record<string, string> = {
  [`wf-${roleId('planner').slice(2)}`]: 'coding',
  ...Object.fromEntries(['planner', 'explorer', 'engineer', 'reviewer'].map((a) => [roleId(a), a])),
};

interface Replica {
  readonly service: ExtProcService;
  readonly client: EnvoyExtProcClient;
}

describe('ext-proc replicas sharing live sessions over NATS', { skip }, () => {
  const servers = [0, 1, 2, 3].map(() => new FakeModelServer());
  let clusters: Map<string, string[]>;
  const { log } = captureLogger('ext-proc', 'warn');

  before(async () => {
    for (const s of servers) await s.start();
    clusters = new Map([['pool', servers.map((s) => s.address)]]);
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  function configFor(url: string): PythiaConfig {
    return parseConfig({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      log_level: 'warn',
      nats: { url },
      pools: [
        {
          name: 'pool',
          models: ['llama'],
          endpoints: servers.map((s) => ({ address: s.address })),
          priority_field: true,
        },
      ],
      // Scraped load would differ between runs by timing alone: the decisions here depend
      // only on what the replicas share.
      scheduler: { scrape_interval_ms: 0, levers: { warming: true }, prefix: { block_bytes: 256 } },
      // Used from their first sighting: an unadmitted session is ordinary traffic, placed at
      // random (no session to seed its ties), on one replica as on several. The resolver's
      // own test covers admission shared between replicas.
      identity: { aliases: ALIASES, min_sessions: 1, min_requests: 1 },
    });
  }

  async function startReplica(config: PythiaConfig, clock: ManualClock): Promise<Replica> {
    const service = await startExtProc(config, {
      log,
      collectProcessMetrics: false,
      clock,
      replicaWallNow: clock.wallNow,
    });
    await service.ready;
    await waitFor('the coding model', () => service.models.get('coding'));
    const client = new EnvoyExtProcClient(`127.0.0.1:${service.grpcPort}`, TEST_FILTER);
    await client.waitForReady();
    return { service, client };
  }

  async function startNats(): Promise<TestNatsServer> {
    const nats = await TestNatsServer.start();
    const nc = await connect({ servers: nats.url });
    await (await modelBucket(nc)).put('coding', encodeModel({ ...model, mode: 'proactive', version: 1 }));
    await nc.close();
    return nats;
  }

  /** A nats-server holding the model, and a first replica on it. */
  async function firstReplica() {
    const nats = await startNats();
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const config = configFor(nats.url);
    return { nats, clock, config, a: await startReplica(config, clock) };
  }

  /** `by` has applied every event `from` sent so far. */
  function applied(by: Replica, from: Replica): boolean {
    const sent = from.service.replicaSync?.sent ?? 0;
    return (by.service.replicas?.watermarks().get(from.service.replicaSync?.id ?? '') ?? 0) >= sent;
  }

  /** Every replica has applied every other replica's events sent so far. */
  async function settled(replicas: readonly Replica[]): Promise<void> {
    await waitFor('every replica event applied everywhere', () =>
      replicas.every((r) => replicas.every((o) => o === r || applied(r, o))),
    );
  }

  /** A session as its client sends it: its style, and the conversation so far (none+native). */
  interface Session {
    readonly name: string;
    readonly style: 'headers' | 'none' | 'native';
    readonly conversation: Array<{ role: string; content: string }>;
    /** Headers style: each request is handed the conversation so far too. */
    readonly history?: boolean;
  }

  /** What the replicas resolved for each routed request (its trace), by request id. */
  function traced(nc: Awaited<ReturnType<typeof connect>>): Map<string, string> {
    const seen = new Map<string, string>();
    nc.subscribe(TRACES.subject, {
      callback: (err, msg) => {
        if (err) return;
        const t = TRACES.decode(msg.data);
        seen.set(t.requestId, `${t.workflow}/${t.session}/${t.agent}`);
      },
    });
    return seen;
  }

  async function request(
    replica: Replica,
    session: Session | string,
    agent: string,
    step: number,
    k: number,
    traces?: Map<string, string>,
  ) {
    const s: Session =
      typeof session === 'string' ? { name: session, style: 'headers', conversation: [] } : session;
    const requestId = `${s.name}-${step}-${k}`;
    const turn = { role: 'user', content: `${s.name} step ${step}.${k}` };
    const body = Buffer.from(
      JSON.stringify({
        model: 'llama',
        messages: [
          { role: 'system', content: instructions(agent) },
          ...(s.style === 'headers'
            ? [...(s.history ? s.conversation : []), turn]
            : [...s.conversation, ...(step === 0 ? [] : [turn])]),
        ],
        max_tokens: 20,
      }),
    );
    const identityHeaders: Array<[string, string]> =
      s.style === 'headers'
        ? [
            ['x-pythia-workflow', 'coding'],
            ['x-pythia-session', s.name],
            ['x-pythia-agent', agent],
          ]
        : s.style === 'native'
          ? [['x-claude-code-session-id', `claude-${s.name}`]]
          : [];
    const result = await forward(
      replica.client,
      [
        [':method', 'POST'],
        [':path', '/v1/chat/completions'],
        ['content-type', 'application/json'],
        ['x-request-id', requestId],
        ...identityHeaders,
      ],
      body,
      clusters,
      'pool',
    );
    assert.equal(result.status, 200);
    const headers = result.request.kind === 'continue' ? result.request.headers : [];
    // This request as its upstream received it (a warm may have reached it since).
    const sent = servers
      .find((s) => s.address === result.upstream)
      ?.received.findLast((r) => r.headers['x-request-id'] === requestId);
    // A routed workflow request ends with its trace: then its end is in the replicas' events.
    let resolved = 'ordinary';
    if (traces && getHeader(headers, 'x-pythia-identity') !== 'none') {
      await waitFor(`the trace of ${requestId}`, () => traces.has(requestId));
      resolved = traces.get(requestId) as string;
    }
    return [
      result.upstream,
      ...ANNOTATIONS.map((h) => `${h}=${getHeader(headers, h) ?? ''}`),
      `priority=${String(sent?.body['priority'])}`,
      resolved,
    ].join(' ');
  }

  /**
   * Holds back, on every replica, each request's `end` event (and whatever its sender sent
   * after it, the other session's requests included) until the session's next request has
   * been routed: its end arrives late, as on a fast upstream with no tool time. Events stay
   * in order per sender.
   */
  function lateEnds(replicas: readonly Replica[]) {
    /** Receiver -> sender -> held events, oldest first. */
    const held = new Map<Replica, Map<string, Array<() => void>>>();
    const heldSeqs = new Map<Replica, Map<string, number[]>>();
    /** Requests whose ends are held. */
    const holding = new Set<string>();
    const kinds = new Map<Replica, Map<string, Array<{ kind: string; requestId: string }>>>();
    /** Events name a request by its sender's flight number: `replica:flight` -> the client's id. */
    const requestOf = new Map<string, string>();
    /** The request being routed now (requests are played one at a time). */
    let routing: string | null = null;
    for (const r of replicas) {
      const view = r.service.replicas!;
      const apply = view.apply.bind(view);
      held.set(r, new Map());
      heldSeqs.set(r, new Map());
      kinds.set(r, new Map());
      view.apply = (event, nowMs, ageMs, replayed) => {
        const queue = held.get(r)!.get(event.replica) ?? [];
        const body = event.body;
        let requestId = '';
        if (body.kind === 'end' || body.kind === 'start') {
          const key = `${event.replica}:${body.flight}`;
          // A start seen while a request is routed is that request's (every earlier event has
          // been received before the next request is sent).
          if (body.kind === 'start' && routing !== null && !requestOf.has(key)) requestOf.set(key, routing);
          requestId = requestOf.get(key) ?? '';
        }
        if (queue.length === 0 && !(body.kind === 'end' && holding.has(requestId)))
          return apply(event, nowMs, ageMs, replayed);
        queue.push(() => apply(event, nowMs, ageMs, replayed));
        held.get(r)!.set(event.replica, queue);
        const seqs = heldSeqs.get(r)!.get(event.replica) ?? [];
        seqs.push(event.seq);
        heldSeqs.get(r)!.set(event.replica, seqs);
        const ks = kinds.get(r)!.get(event.replica) ?? [];
        ks.push({ kind: body.kind, requestId });
        kinds.get(r)!.set(event.replica, ks);
        return 'applied';
      };
    }
    return {
      /** Ends of `requestId` are held from now on. */
      holdEndsOf(requestId: string) {
        holding.add(requestId);
        routing = requestId;
      },
      /** Applies what is held for `requestId`'s end (null: none), up to the end of a request still held. */
      release(requestId: string | null) {
        if (requestId !== null) holding.delete(requestId);
        for (const r of replicas)
          for (const [sender, queue] of held.get(r)!) {
            const ks = kinds.get(r)!.get(sender)!;
            const seqs = heldSeqs.get(r)!.get(sender)!;
            while (queue.length > 0) {
              const k = ks[0]!;
              if (k.kind === 'end' && holding.has(k.requestId)) break;
              queue.shift()!();
              ks.shift();
              seqs.shift();
            }
          }
      },
      /** `by` has applied or holds every event `from` sent so far. */
      received(by: Replica, from: Replica): boolean {
        const id = from.service.replicaSync?.id ?? '';
        const last = heldSeqs.get(by)!.get(id)?.at(-1) ?? by.service.replicas?.watermarks().get(id) ?? 0;
        return last >= (from.service.replicaSync?.sent ?? 0);
      },
    };
  }

  /**
   * Plays the sessions stage by stage on `n` replicas, each request on one drawn at random.
   * `late`: each request's end reaches the other replicas only after the session's next
   * request was routed (otherwise every event is applied before the next request).
   */
  async function play(n: number, seed: number, style: Style = 'headers', late = false): Promise<string[]> {
    for (const s of servers) {
      await fetch(`http://${s.address}/reset_prefix_cache`, { method: 'POST' });
      s.received.length = 0;
    }
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    const traces = traced(nc);
    await nc.flush();
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const config = configFor(nats.url);
    const replicas: Replica[] = [];
    for (let i = 0; i < n; i++) replicas.push(await startReplica(config, clock));
    const gate = late && n > 1 ? lateEnds(replicas) : null;
    const pick = seededRandom(seed);
    const out: string[] = [];
    /** Each session's previous request, whose end is held until the session's next one is routed. */
    const previous = new Map<string, string>();
    try {
      for (let s = 0; s < SESSIONS; s += 2) {
        const pair: Session[] = [`s${s}`, `s${s + 1}`].map((name, i) => ({
          name,
          style: style === 'none+native' ? (i === 0 ? 'none' : 'native') : 'headers',
          conversation: [{ role: 'user', content: `the task of ${name}` }],
          history: style === 'headers+history',
        }));
        for (const [step, stage] of SHAPE.entries()) {
          for (const session of pair) {
            for (const [k, agent] of stage.entries()) {
              const replica = replicas[Math.floor(pick() * n)] as Replica;
              const id = `${session.name}-${step}-${k}`;
              gate?.holdEndsOf(id);
              const line = await request(replica, session, agent, step, k, traces);
              out.push(`${session.name} ${step}.${k} ${agent}: ${line}`);
              if (gate) {
                // This request was routed with the session's previous one's end held back; now
                // that end arrives, and this one's is held until the session's next request.
                await waitFor('every replica event received everywhere', () =>
                  replicas.every((r) => replicas.every((o) => o === r || gate.received(r, o))),
                );
                gate.release(previous.get(session.name) ?? null);
                previous.set(session.name, id);
              } else {
                // The request has ended everywhere and its events are applied.
                await settled(replicas);
              }
            }
            // What the stage said joins the conversation the next stage is handed (with the
            // history style, each request's instruction before its answer).
            for (const [k, agent] of stage.entries()) {
              if (session.history)
                session.conversation.push({ role: 'user', content: `${session.name} step ${step}.${k}` });
              session.conversation.push({ role: 'assistant', content: `${agent} ${step}.${k} says so` });
            }
            clock.advance(TOOL_TIME_MS);
          }
        }
      }
    } finally {
      for (const r of replicas) {
        r.client.close();
        await r.service.stop();
      }
      await nc.close();
      await nats.stop();
    }
    return out;
  }

  /** Plays at 1, then 2 and 4 replicas: at least 99% of the requests as on one (`late`: ends held back). */
  async function sameAsOne(
    t: { diagnostic(message: string): void },
    style: Style,
    late = false,
  ): Promise<string[]> {
    const one = await play(1, 1, style);
    for (const n of [2, 4]) {
      const many = await play(n, n, style, late);
      const same = many.filter((line, i) => line === one[i]).length;
      // Requests opening a stage (the first of a fan-out, or a sequential step).
      const opening = (line: string) => / \d+\.0 /.test(line);
      const openingSame = many.filter((line, i) => line === one[i] && opening(line)).length;
      // The same without the endpoint: the prediction, priority and identity.
      const annotations = (line: string) =>
        line
          .split(' ')
          .filter((w) => !w.startsWith('127.0.0.1') && !w.startsWith('x-gateway-destination-endpoint='))
          .join(' ');
      const annotated = many.filter((line, i) => annotations(line) === annotations(one[i] ?? '')).length;
      t.diagnostic(
        `${style}${late ? ', ends late' : ''}, ${n} replicas: ${same}/${one.length} requests identical to one replica, ` +
          `${openingSame}/${one.filter(opening).length} of those opening a stage, ${annotated}/${one.length} with the same annotations`,
      );
      if (process.env.SHOW_DIFF)
        for (const [i, l] of many.entries())
          if (annotations(l) !== annotations(one[i] ?? '')) t.diagnostic(`${l} || one: ${one[i]}`);
      if (late) {
        // Siblings whose predecessor's end is late, and requests whose session's earlier
        // starts are still held behind another session's end, cannot decide as on one
        // replica; endpoints also follow the other sessions' late ends (load). Measured:
        // 40/42 and 38/42 with the same annotations at 2 and 4 replicas (before the causal
        // rule: 36/42 and 23/42).
        assert.ok(annotated >= 0.85 * one.length, `${n} replicas, ends late: ${annotated}/${one.length}`);
        continue;
      }
      const differing = many
        .filter((line, i) => line !== one[i])
        .map((line) => `${line}\n  one: ${one[many.indexOf(line)]}`);
      assert.ok(
        same >= 0.99 * one.length,
        `${n} replicas: ${same}/${one.length} identical\n${differing.join('\n')}`,
      );
    }
    return one;
  }

  test('2 and 4 replicas give a session the endpoints and annotations one replica gives', async (t) => {
    await sameAsOne(t, 'headers');
  });

  test("a session's next request decides as on one replica before the previous request's end reached its replica, when its conversation proves the order", async (t) => {
    await sameAsOne(t, 'headers+history', true);
  });

  test('sessions without the Pythia headers keep their session, workflow and endpoints over 2 and 4 replicas', async (t) => {
    const one = await sameAsOne(t, 'none+native');
    // Not vacuous: both kinds were identified as the learned workflow, each as one session.
    const sessionsOf = (style: string) =>
      new Set(
        one
          .filter((l) => l.includes(`x-pythia-identity=${style} `))
          .map((l) => l.split(' ').at(-1)?.split('/')[1]),
      );
    for (const style of ['inferred', 'native']) {
      const lines = one.filter((l) => l.includes(`x-pythia-identity=${style} `));
      assert.equal(lines.length, (SESSIONS / 2) * 7, `every ${style} request identified`);
      assert.ok(
        lines.every((l) => / coding\/[cn]-[0-9a-z]{8}\/(planner|explorer|engineer|reviewer)$/.test(l)),
      );
      assert.equal(sessionsOf(style).size, SESSIONS / 2, `one session per ${style} session`);
      assert.ok(lines.some((l) => l.includes('x-pythia-mode=proactive')));
    }
  });

  test('after a nats-server restart, a joining replica still catches up with the sessions under way', async () => {
    const { nats, clock, config, a } = await firstReplica();
    try {
      await request(a, 'n1', 'planner', 0, 0);
      // The stream is in memory: the restart loses it, and A creates it again once reconnected.
      await nats.restart();
      const nc = await connect({ servers: nats.url });
      try {
        const jsm = await nc.jetstreamManager();
        await waitFor('the replica stream created again', () =>
          jsm.streams.info(REPLICA_EVENTS.stream).then(
            () => true,
            () => false,
          ),
        );
      } finally {
        await nc.close();
      }
      clock.advance(TOOL_TIME_MS);
      await request(a, 'n1', 'explorer', 1, 0);
      const sentBefore = a.service.replicaSync?.sent ?? 0;
      const b = await startReplica(config, clock);
      try {
        assert.ok((b.service.replicas?.watermarks().get(a.service.replicaSync!.id) ?? 0) >= sentBefore);
        assert.equal(b.service.sessions.size, 1, "A's session under way is known to B");
      } finally {
        b.client.close();
        await b.service.stop();
      }
    } finally {
      a.client.close();
      await a.service.stop();
      await nats.stop();
    }
  });

  test('a joining replica catches up from the stream before it is ready; a silent one stops counting', async () => {
    const { nats, clock, config, a } = await firstReplica();
    try {
      await request(a, 'j1', 'planner', 0, 0);
      await request(a, 'j1', 'explorer', 1, 0);
      // A request routed by A that has not ended (its events are A's own, as the router sends them).
      a.service.replicaSync?.emit({
        kind: 'start',
        // Far past the flight numbers A's router gave its own requests here.
        flight: 1_000_000,
        identity: { workflow: 'coding', session: 'j2', agent: 'planner' },
        endpoint: servers[2]!.address,
        reservedTokens: 1000,
        overflow: 0.01,
        decodeTokens: 200,
        prefixHashes: [],
        prompt: null,
        order: null,
        settles: [],
      });
      const sentBefore = a.service.replicaSync?.sent ?? 0;

      const b = await startReplica(config, clock);
      try {
        // Ready means caught up: A's events up to then are in B's tables already.
        assert.ok((b.service.replicas?.watermarks().get(a.service.replicaSync!.id) ?? 0) >= sentBefore);
        assert.equal(b.service.sessions.size, 2, 'both of A sessions are known to B');
        const held = b.service.cluster.endpoint(servers[2]!.address);
        assert.equal(held?.remote.inFlight, 1, "A's request in flight counts on B");
        const next = await request(b, 'j1', 'explorer', 1, 1);
        assert.match(next, /x-pythia-mode=proactive/);

        // A stops publishing (its heartbeats end): on B's clock it counts until the bound, not after.
        a.client.close();
        a.service.replicaSync?.stop();
        await waitFor('every event of A applied by B', () => applied(b, a));
        const bound = config.ext_proc.replicas.dead_after_ms;
        clock.advance(bound);
        assert.deepEqual(b.service.replicaSync?.check(), []);
        assert.equal(held?.remote.inFlight, 1);
        clock.advance(1);
        assert.deepEqual(b.service.replicaSync?.check(), [a.service.replicaSync!.id]);
        assert.equal(held?.remote.inFlight, 0, "A's load stopped counting");
        assert.equal(b.service.replicas?.replicas, 0);
      } finally {
        b.client.close();
        await b.service.stop();
      }
    } finally {
      await a.service.stop();
      await nats.stop();
    }
  });
});
