// The leadership lease: its rules on a manual clock, then two candidates on a real nats-server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LeaderLease, LeaseRules } from '../src/nats/lease.js';
import { NatsLink } from '../src/nats/connection.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';

const TTL = 6000;

test('a candidate creates an absent lease, renews it, and leads until its last renewal plus TTL minus margin', () => {
  const a = new LeaseRules('a', TTL);
  assert.deepEqual(a.decide(0), { kind: 'wait' }, 'nothing read yet');
  a.observe({ revision: 0, holder: null }, 0);
  assert.deepEqual(a.decide(0), { kind: 'create' });
  a.written(1, 0, 5);
  assert.ok(a.isLeader(1));
  assert.deepEqual(a.decide(10), { kind: 'wait' }, 'renewed less than a tick ago');
  a.observe({ revision: 1, holder: 'a' }, a.tickMs);
  assert.deepEqual(a.decide(a.tickMs), { kind: 'update', revision: 1 });
  // Renewals stop (NATS away): it steps down before TTL passes, by the margin.
  assert.ok(a.isLeader(TTL - a.marginMs - 1));
  assert.ok(!a.isLeader(TTL - a.marginMs));
});

test('a standby takes over only after seeing the revision unchanged for a whole TTL, by its own clock', () => {
  const b = new LeaseRules('b', TTL);
  // Its clock is far from the leader's: only the durations it measures itself matter.
  const t0 = 1_000_000;
  b.observe({ revision: 7, holder: 'a' }, t0);
  assert.deepEqual(b.decide(t0 + TTL - 1), { kind: 'wait' });
  b.observe({ revision: 8, holder: 'a' }, t0 + TTL - 1); // renewed: the wait starts again
  assert.deepEqual(b.decide(t0 + TTL + 1), { kind: 'wait' });
  b.observe({ revision: 8, holder: 'a' }, t0 + 2 * TTL - 1);
  assert.deepEqual(b.decide(t0 + 2 * TTL - 1), { kind: 'update', revision: 8 });
  // The old leader stepped down by then: its last renewal was sent before b read revision 8.
  const a = new LeaseRules('a', TTL);
  a.observe({ revision: 7, holder: 'a' }, t0 + TTL - 2);
  a.written(8, t0 + TTL - 2, t0 + TTL - 1);
  assert.ok(!a.isLeader(t0 + 2 * TTL - 1));
});

test('a leader that sees another holder has lost the lease at once', () => {
  const a = new LeaseRules('a', TTL);
  a.observe({ revision: 0, holder: null }, 0);
  a.written(1, 0, 0);
  a.observe({ revision: 2, holder: 'b' }, 100);
  assert.ok(!a.isLeader(100));
  assert.deepEqual(a.decide(100), { kind: 'wait' });
});

const skip = natsServerAvailable() ? false : 'nats-server is not installed';

describe('two candidates on nats-server', { skip }, () => {
  let nats: TestNatsServer;
  const logs = captureLogger('test', 'info');
  const links: NatsLink[] = [];
  const candidate = (holder: string) => {
    const link = new NatsLink({ url: nats.url, name: holder }, logs.log);
    links.push(link);
    return new LeaderLease(link, { role: 'test', ttlMs: 1200, log: logs.log, holder });
  };
  before(async () => {
    nats = await TestNatsServer.start();
  });
  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await nats?.stop();
  });

  test('one leads; a stopped leader hands over at once; a silent one after the TTL', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.start();
    await waitFor('a leads', () => a.isLeader);
    b.start();
    for (let i = 0; i < 5; i++) await b.tick();
    assert.ok(a.isLeader && !b.isLeader, 'never two leaders');
    await a.stop(); // released
    await waitFor('b leads after the release', () => b.isLeader);
    // b falls silent (as after a SIGKILL): a third candidate waits one TTL, then takes over.
    const silentSince = Date.now();
    await links[1]?.close();
    await b.stop(); // cannot release without NATS: the lease lapses
    assert.ok(!b.isLeader);
    const c = candidate('c');
    c.start();
    await waitFor('c leads', () => c.isLeader);
    const tookMs = Date.now() - silentSince;
    assert.ok(tookMs >= 1200 && tookMs < 5000, `took over after ${tookMs} ms`);
    await c.stop();
  });
});
