// The replica view under hostile or runaway input: every field an event brings is bounded,
// events for endpoints not configured are refused, and the other replicas' requests in
// flight are bounded in count and estimated bytes over all replicas, a runaway replica
// losing its own oldest requests first, never another replica's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import type { ReplicaEvent, ReplicaEventBody } from '../../core/src/wire/replica-event.js';
import { createGatewayCore } from '../src/core/routing/gateway-core.js';
import { REMOTE_HASH_BYTES, REMOTE_REQUEST_BYTES } from '../src/core/routing/replica-view.js';

const ENDPOINT = '127.0.0.1:1';

function view(replicas: Record<string, unknown> = {}) {
  const config = parseConfig({
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: ENDPOINT }, { address: '127.0.0.1:2' }] }],
    scheduler: { scrape_interval_ms: 0 },
    ext_proc: { replicas },
  });
  const core = createGatewayCore(config, {
    clock: { now: () => 0, wallNow: () => 0 },
    random: () => 0.5,
    replica: { id: 'self', sink: { emit: () => undefined } },
  });
  const seqs = new Map<string, number>();
  const send = (replica: string, body: ReplicaEventBody) => {
    const seq = (seqs.get(replica) ?? 0) + 1;
    seqs.set(replica, seq);
    const event: ReplicaEvent = { replica, seq, unixMs: 0, body };
    return core.replicas?.apply(event, 0);
  };
  return { core, view: core.replicas!, send };
}

function start(
  flight: number,
  session: string,
  over: Partial<Extract<ReplicaEventBody, { kind: 'start' }>> = {},
): ReplicaEventBody {
  return {
    kind: 'start',
    flight,
    identity: { workflow: 'wf', session, agent: 'planner' },
    endpoint: ENDPOINT,
    reservedTokens: 100,
    overflow: 0,
    decodeTokens: 10,
    prefixHashes: [1, 2, 3],
    prompt: null,
    order: null,
    settles: [],
    ...over,
  };
}

test('an event with a field past its bound, or for an endpoint not configured, is refused and folds nothing', () => {
  const { core, view: v, send } = view();
  const long = 'x'.repeat(10_000);
  assert.equal(send('r1', start(1, long)), 'refused');
  // A flight number that is not a positive integer (a client's id cannot be one).
  assert.equal(send('r1', start(0, 's')), 'refused');
  assert.equal(send('r1', start(1.5, 's')), 'refused');
  assert.equal(send(long, start(1, 's')), 'refused');
  assert.equal(send('r1', start(1, 's', { endpoint: '10.0.0.9:8000' })), 'refused');
  assert.equal(send('r1', start(1, 's', { prefixHashes: new Array(100_000).fill(7) })), 'refused');
  assert.equal(
    send('r1', {
      kind: 'reserve',
      identity: { workflow: 'wf', session: long, agent: 'a' },
      endpoint: ENDPOINT,
      forMs: 1000,
      warmHashes: [],
    }),
    'refused',
  );
  const share = (session: string): ReplicaEventBody => ({
    kind: 'identity',
    session,
    workflow: 'w-1',
    admitted: true,
    newSession: true,
    role: 'r-1',
    roleEstablished: true,
    chainEnd: 42,
  });
  assert.equal(send('r1', share(long)), 'refused');
  assert.equal(v.counts.refused, 8);
  assert.equal(send('r1', share('s-1')), 'applied');
  assert.equal(v.remoteInFlight, 0);
  assert.equal(core.sessions.size, 0);
  assert.equal(core.affinity.size, 0);
  // A well-formed event still goes through.
  assert.equal(send('r1', start(1, 's')), 'applied');
  assert.equal(v.remoteInFlight, 1);
});

test('a reservation from another replica lasts at most reservation_s, whatever the event says', () => {
  const { core, send } = view();
  const identity = { workflow: 'wf', session: 's', agent: 'planner' };
  send('r1', { kind: 'reserve', identity, endpoint: ENDPOINT, forMs: 1e12, warmHashes: [] });
  assert.deepEqual(core.affinity.reservation('wf', 's', 120_000), { agent: 'planner', endpoint: ENDPOINT });
  assert.equal(core.affinity.reservation('wf', 's', 120_001), null);
});

test('remote requests in flight are bounded in count over all replicas; a runaway replica loses its own', () => {
  const { view: v, send } = view({ max_remote_in_flight: 100 });
  for (let i = 0; i < 20; i++) send('steady', start(i + 1, `steady-${i}`));
  for (let i = 0; i < 10_000; i++) send('runaway', start(i + 1, `runaway-${i}`));
  assert.equal(v.remoteInFlight, 100);
  // The steady replica's 20 are all still counted; its ends release them.
  for (let i = 0; i < 20; i++)
    send('steady', {
      kind: 'end',
      flight: i + 1,
      identity: { workflow: 'wf', session: `steady-${i}`, agent: 'planner' },
      sessionEnd: false,
      history: null,
    });
  assert.equal(v.remoteInFlight, 80);
});

test('remote requests in flight are bounded in estimated bytes, prefix blocks included', () => {
  const maxBytes = 1024 * 1024;
  const { view: v, send } = view({ max_remote_bytes: maxBytes });
  const hashes = Array.from({ length: 2000 }, (_, i) => i);
  for (let i = 0; i < 1000; i++) send('r1', start(i + 1, `s-${i}`, { prefixHashes: hashes }));
  assert.ok(v.remoteBytes <= maxBytes, `${v.remoteBytes} bytes`);
  // Each entry is at least its hashes and fixed overhead: the bound holds by bytes, not count.
  assert.ok(v.remoteInFlight <= maxBytes / (REMOTE_REQUEST_BYTES + REMOTE_HASH_BYTES * hashes.length));
  assert.ok(v.remoteInFlight > 0);
});
