// Two ext-proc replicas over one nats-server: in-flight load placed by one is seen by the
// other, and forgotten once its reports go stale. Reports age on the test's clock, so they
// go stale exactly when the test says, never because the machine was slow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { NatsLink } from '../../common/src/nats/connection.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { LoadSharing } from '../src/adapters/load-sharing.js';
import { ClusterState } from '../../core/src/cluster/cluster-state.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

test('replicas see each other in-flight load with bounded staleness', { skip }, async () => {
  const nats = await TestNatsServer.start();
  const { log } = captureLogger('ext-proc', 'warn');
  const config = parseConfig({
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: '127.0.0.1:9' }] }],
    scheduler: { load_sharing: { interval_ms: 50, stale_after_ms: 300 } },
  });
  const [a, b] = [new ClusterState(config.pools), new ClusterState(config.pools)];
  const links = [
    new NatsLink({ url: nats.url, name: 'a' }, log),
    new NatsLink({ url: nats.url, name: 'b' }, log),
  ];
  const clock = new ManualClock();
  const staleAfterMs = config.scheduler.load_sharing.stale_after_ms;
  const sharing = [
    new LoadSharing(links[0] as NatsLink, a, config.scheduler.load_sharing, log, clock.now),
    new LoadSharing(links[1] as NatsLink, b, config.scheduler.load_sharing, log, clock.now),
  ];
  try {
    await Promise.all(links.map((l) => l.ready()));
    a.acquire('127.0.0.1:9', { reservedTokens: 5000, overflow: 0.01, decodeTokens: 300 });
    const seen = b.endpoint('127.0.0.1:9');
    await waitFor('the other replica to see the load', () => seen?.remote.inFlight === 1);
    assert.deepEqual(seen?.remote, {
      inFlight: 1,
      reservedTokens: 5000,
      overflowSum: 0.01,
      decodeTokens: 300,
    });
    assert.equal(seen?.local.inFlight, 0, 'not counted as its own');
    sharing[0]?.stop(); // replica a goes silent
    // Every report a sent is at b: a's flush puts them through the server, b's flush
    // answers after what the server had already routed to b.
    await links[0]?.current?.flush();
    await links[1]?.current?.flush();
    clock.advance(staleAfterMs);
    sharing[1]?.fold(clock.now());
    assert.equal(seen?.remote.inFlight, 1, 'a report counts for stale_after_ms after it arrived');
    clock.advance(1);
    sharing[1]?.fold(clock.now());
    assert.equal(seen?.remote.inFlight, 0, 'stale reports stop counting');
  } finally {
    for (const s of sharing) s.stop();
    await Promise.all(links.map((l) => l.close()));
    await nats.stop();
  }
});
