// Several gateway cores sharing live-session state through their replica events decide a
// session's requests as one core does, wherever each request lands; a replica that stops
// being heard from stops counting; the events survive the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../test-support/src/workloads/rng.js';
import { createGatewayCore, type GatewayCore } from '../../ext-proc/src/core/routing/gateway-core.js';
import type { RouteInput } from '../../ext-proc/src/core/routing/route-input.js';
import type { RouteDecision } from '../../ext-proc/src/core/routing/route-decision.js';
import {
  CODING_SHAPE,
  codingInput,
  completedOk,
  learnedCoding,
  replicaCores,
  replicaTestConfig,
  seenByEnvoy,
} from '../../test-support/src/replica-decisions.js';
import { REPLICA_EVENTS } from '../../core/src/wire/channels.js';
import type { ReplicaEvent } from '../../core/src/wire/replica-event.js';

const learned = learnedCoding;
const config = replicaTestConfig;

const replicas = (n: number) => replicaCores(n);

function input(session: string, agent: string, step: number, k = 0): RouteInput {
  return codingInput(session, agent, step, k, [{ role: 'user', content: `${session} step ${step}` }]);
}

const ok = completedOk;
const seen = seenByEnvoy;

const SHAPE = CODING_SHAPE;

/** Plays 12 sessions in overlapping pairs, each request on a core drawn at random. */
function play(n: number, seed: number): string[] {
  const { cores, advance } = replicas(n);
  const pick = seededRandom(seed);
  const out: string[] = [];
  for (let s = 0; s < 12; s += 2) {
    const sessions = [`s${s}`, `s${s + 1}`];
    for (const [step, stage] of SHAPE.entries()) {
      for (const session of sessions) {
        const running: Array<{ core: GatewayCore; inp: RouteInput; d: RouteDecision }> = [];
        for (const [k, agent] of stage.entries()) {
          const core = cores[Math.floor(pick() * n)] as GatewayCore;
          const inp = input(session, agent, step, k);
          const d = core.router.route(inp);
          out.push(`${session} ${step} ${agent}: ${seen(d)}`);
          advance(3);
          running.push({ core, inp, d });
        }
        for (const r of running) r.core.router.complete(r.d, r.inp, ok(`${session} output ${step}`));
        advance(5);
      }
    }
  }
  return out;
}

test('a session spread over 2 or 4 replicas gets the endpoints and annotations it gets on one', () => {
  const one = play(1, 1);
  for (const n of [2, 4]) {
    for (const seed of [1, 2, 3]) {
      const many = play(n, seed);
      const same = many.filter((line, i) => line === one[i]).length;
      assert.equal(same, one.length, `${n} replicas, seed ${seed}: ${same}/${one.length} identical`);
    }
  }
});

test("a replica that catches up decides a session's next request as the replica that saw it live", () => {
  let now = 0;
  const clock = { now: () => now, wallNow: () => 1_790_000_000_000 + now };
  /** What the stream holds: every event of the replica that routed the session, on the wire. */
  const stream: Uint8Array[] = [];
  let seq = 0;
  const core = (id: string, sink: (body: ReplicaEvent['body']) => void) => {
    const c = createGatewayCore(config, {
      clock,
      random: seededRandom(7),
      warmSender: { send: (plan) => c.planner.done(plan.endpoint) },
      replica: { id, sink: { emit: sink } },
    });
    c.models.set({ ...learned, mode: 'proactive', version: 1 });
    return c;
  };
  // `live` folds the router's events as they are sent; `later` starts once the session is
  // under way and replays the stream at one instant, as a restarted replica catches up.
  const live = core('live', () => undefined);
  const later = core('later', () => undefined);
  const router = core('router', (body) => {
    const wire = REPLICA_EVENTS.encode({ replica: 'router', seq: ++seq, unixMs: clock.wallNow(), body });
    stream.push(wire);
    live.replicas?.apply(REPLICA_EVENTS.decode(wire), now);
  });
  // planner, a fan-out of 3 explorers, an engineer: sequential stages 5 ms of tool time apart.
  for (const [step, stage] of SHAPE.slice(0, 3).entries()) {
    const running = stage.map((agent, k) => {
      const inp = input('s', agent, step, k);
      return { inp, d: router.router.route(inp) };
    });
    now += 40;
    for (const r of running) router.router.complete(r.d, r.inp, ok(`s output ${step}`));
    now += 5;
  }
  now += 2000;
  for (const wire of stream) {
    const event = REPLICA_EVENTS.decode(wire);
    assert.equal(later.replicas?.apply(event, now, clock.wallNow() - event.unixMs, true), 'applied');
  }
  const next = input('s', 'engineer', 3);
  const [a, b] = [live, later].map((c) => seen(c.router.route(next)));
  assert.match(a ?? '', /x-pythia-mode=proactive/);
  assert.equal(b, a);
});

test('another replica in-flight load counts until it ends, or until that replica stops being heard from', () => {
  const { cores, advance, now } = replicas(2);
  const [a, b] = cores as [GatewayCore, GatewayCore];
  const d = a.router.route(input('s1', 'planner', 0));
  const seenByB = b.cluster.endpoint(d.endpoint);
  assert.equal(seenByB?.remote.inFlight, 1);
  assert.ok((seenByB?.remote.reservedTokens ?? 0) > 0);
  assert.equal(b.sessions.running({ workflow: 'coding', session: 's1', agent: 'planner' }), 1);
  a.router.complete(d, input('s1', 'planner', 0), ok('x'));
  assert.deepEqual(seenByB?.remote, { inFlight: 0, reservedTokens: 0, overflowSum: 0, decodeTokens: 0 });

  a.router.route(input('s2', 'planner', 0));
  const bound = config.ext_proc.replicas.dead_after_ms;
  advance(bound);
  assert.deepEqual(b.replicas?.expire(now()), [], 'heard from within the bound: still counting');
  assert.equal(b.replicas?.remoteInFlight, 1);
  advance(1);
  assert.deepEqual(b.replicas?.expire(now()), ['r0']);
  assert.equal(b.replicas?.remoteInFlight, 0);
  for (const ep of b.cluster.allEndpoints()) assert.equal(ep.remote.inFlight + ep.inFlight, 0);
  assert.equal(b.sessions.running({ workflow: 'coding', session: 's2', agent: 'planner' }), 0);
});

test('a heartbeat settles ends that were lost; duplicates and own events are skipped', () => {
  const { cores } = replicas(2);
  const b = cores[1] as GatewayCore;
  const start = (seq: number, flight: number): ReplicaEvent => ({
    replica: 'x',
    seq,
    unixMs: 0,
    body: {
      kind: 'start',
      flight,
      identity: { workflow: 'coding', session: 'q', agent: 'planner' },
      endpoint: '127.0.0.1:1',
      reservedTokens: 100,
      overflow: 0.01,
      decodeTokens: 50,
      prefixHashes: [],
      prompt: null,
      order: null,
      settles: [],
    },
  });
  assert.equal(b.replicas?.apply(start(1, 1), 0), 'applied');
  assert.equal(b.replicas?.apply(start(1, 1), 0), 'duplicate');
  assert.equal(b.replicas?.apply({ ...start(2, 2), replica: 'r1' }, 0), 'own');
  assert.equal(b.replicas?.apply(start(3, 2), 0), 'applied');
  assert.equal(b.replicas?.counts.gaps, 1);
  assert.equal(b.cluster.endpoint('127.0.0.1:1')?.remote.inFlight, 2);
  b.replicas?.apply({ replica: 'x', seq: 4, unixMs: 0, body: { kind: 'heartbeat', inFlight: 1 } }, 0);
  assert.equal(b.cluster.endpoint('127.0.0.1:1')?.remote.inFlight, 1, 'the oldest dropped');
});

test('every replica event kind survives the wire; garbage is refused', () => {
  const identity = { workflow: 'w', session: 's', agent: 'a' };
  const events: ReplicaEvent[] = [
    { replica: 'r', seq: 1, unixMs: 1.5, body: { kind: 'heartbeat', inFlight: 3 } },
    {
      replica: 'r',
      seq: 2,
      unixMs: 2,
      body: {
        kind: 'start',
        flight: 2 ** 40 + 1,
        identity,
        endpoint: 'e',
        reservedTokens: 10,
        overflow: 0.25,
        decodeTokens: 5,
        prefixHashes: [2 ** 52 + 1, 7],
        prompt: { model: 'm', system: 'sys' },
        order: { index: 3, hash: 2 ** 53 - 1 },
        settles: [
          { index: 0, hash: 7 },
          { index: 2, hash: 0 },
        ],
      },
    },
    {
      replica: 'r',
      seq: 3,
      unixMs: 3,
      body: {
        kind: 'end',
        flight: 2 ** 40 + 1,
        identity,
        sessionEnd: false,
        history: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      },
    },
    {
      replica: 'r',
      seq: 4,
      unixMs: 4,
      body: { kind: 'end', flight: 7, identity, sessionEnd: true, history: null },
    },
    {
      replica: 'r',
      seq: 5,
      unixMs: 5,
      body: { kind: 'reserve', identity, endpoint: 'e', forMs: 1000, warmHashes: [1, 2] },
    },
    ...[2 ** 53 - 1, 0, null].map((chainEnd, i): ReplicaEvent => ({
      replica: 'r',
      seq: 6 + i,
      unixMs: 6,
      body: {
        kind: 'identity',
        session: 'c-00000001',
        workflow: 'wf-00000002',
        admitted: i !== 1,
        newSession: i === 0,
        role: 'r-00000002',
        roleEstablished: i === 2,
        chainEnd,
      },
    })),
  ];
  for (const e of events) assert.deepEqual(REPLICA_EVENTS.decode(REPLICA_EVENTS.encode(e)), e);
  assert.throws(() => REPLICA_EVENTS.decode(new Uint8Array([1, 2, 3])));
});
