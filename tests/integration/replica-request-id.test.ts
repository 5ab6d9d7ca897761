// The in-flight footprint the replicas share is keyed by what no client controls: two
// concurrent requests that carry the same x-request-id (a client's retry, or a hostile
// client reusing another's id) each keep counting on every replica until their own end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { totalLoad } from '../../core/src/cluster/cluster-state.js';
import { REPLICA_EVENTS } from '../../core/src/wire/channels.js';
import type { ReplicaEvent } from '../../core/src/wire/replica-event.js';
import { parseLlmRequest } from '../../ext-proc/src/core/envoy/openai-request.js';
import type { CompletedRequest } from '../../ext-proc/src/core/routing/completed-request.js';
import { createGatewayCore, type GatewayCore } from '../../ext-proc/src/core/routing/gateway-core.js';
import type { RouteInput } from '../../ext-proc/src/core/routing/route-input.js';
import { seededRandom } from '../../test-support/src/workloads/rng.js';

const config = parseConfig({
  pools: [{ name: 'p', models: ['llama'], endpoints: [{ address: '127.0.0.1:1' }] }],
  scheduler: { scrape_interval_ms: 0 },
});

/** Three cores; every event is encoded, decoded and applied by the others at once. */
function replicas(): GatewayCore[] {
  const clock = { now: () => 0, wallNow: () => 1_790_000_000_000 };
  const cores: GatewayCore[] = [];
  for (let i = 0; i < 3; i++) {
    const id = `r${i}`;
    let seq = 0;
    const sink = {
      emit: (body: ReplicaEvent['body']) => {
        const wire = REPLICA_EVENTS.encode({ replica: id, seq: ++seq, unixMs: clock.wallNow(), body });
        for (const other of cores)
          if (other !== cores[i]) other.replicas?.apply(REPLICA_EVENTS.decode(wire), 0);
      },
    };
    cores.push(createGatewayCore(config, { clock, random: seededRandom(i + 1), replica: { id, sink } }));
  }
  return cores;
}

function input(session: string, requestId: string): RouteInput {
  const body = Buffer.from(
    JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: session }] }),
  );
  return {
    llm: parseLlmRequest(body, 'chat'),
    identity: { workflow: 'coding', session, agent: 'planner' },
    requestId,
    exchange: requestId,
    sessionEnd: false,
  };
}

const ok = { status: 'OK', usage: { outputTokens: 1, reported: true, outputText: '' } } as CompletedRequest;

/** Requests in flight on the one endpoint as `core` counts them (its own and the others'). */
const counted = (core: GatewayCore): number => totalLoad(core.cluster.endpoint('127.0.0.1:1')!).inFlight;

test('two concurrent requests with one x-request-id on two replicas: the first ending leaves the second counted', () => {
  const [a, b, c] = replicas() as [GatewayCore, GatewayCore, GatewayCore];
  const first = input('s1', 'same-id');
  const second = input('s2', 'same-id');
  const d1 = a.router.route(first);
  const d2 = b.router.route(second);
  for (const core of [a, b, c]) assert.equal(counted(core), 2);
  a.router.complete(d1, first, ok);
  for (const core of [a, b, c]) assert.equal(counted(core), 1, 'the second request still counts everywhere');
  assert.equal(c.replicas?.remoteInFlight, 1);
  b.router.complete(d2, second, ok);
  for (const core of [a, b, c]) assert.equal(counted(core), 0);
  assert.equal(c.replicas?.counts.dropped, 0, 'nothing was dropped to make room');
});

test('two concurrent requests with one x-request-id on one replica: each is released by its own end only', () => {
  const [a, b, c] = replicas() as [GatewayCore, GatewayCore, GatewayCore];
  const first = input('s1', 'same-id');
  const second = input('s2', 'same-id');
  const d1 = a.router.route(first);
  const d2 = a.router.route(second);
  for (const core of [b, c]) assert.equal(counted(core), 2, 'the second start does not replace the first');
  a.router.complete(d1, first, ok);
  for (const core of [a, b, c]) assert.equal(counted(core), 1, 'the second request still counts everywhere');
  a.router.complete(d2, second, ok);
  for (const core of [a, b, c]) assert.equal(counted(core), 0);
  for (const core of [b, c]) assert.equal(core.replicas?.counts.dropped, 0, 'nothing was dropped');
});

test("a request cannot end another replica's reservation by reusing its x-request-id", () => {
  const [a, b, c] = replicas() as [GatewayCore, GatewayCore, GatewayCore];
  const victim = input('victim', 'victim-id');
  a.router.route(victim);
  // A hostile client sends requests with the victim's id through every replica, ending them at once.
  for (const core of [a, b, c]) {
    const forged = input('hostile', 'victim-id');
    core.router.complete(core.router.route(forged), forged, ok);
  }
  for (const core of [a, b, c]) assert.equal(counted(core), 1, "the victim's request still counts");
  for (const core of [b, c]) assert.equal(core.replicas?.remoteInFlight, 1);
});
