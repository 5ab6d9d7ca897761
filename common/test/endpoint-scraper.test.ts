// Scraping real HTTP servers on loopback: load figures flow into the cluster state, an
// endpoint that stops answering is taken out after N failures and comes back when it answers,
// and a server that accepts but never answers fails its scrape at the timeout.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { EndpointScraper } from '../src/endpoint-scraper.js';
import { ClusterState } from '../../core/src/cluster/cluster-state.js';
import { FakeModelServer } from '../../test-support/src/fake-model-server.js';

type Scrape = [string, string, boolean, boolean];

function scraperFor(address: string, scrapeTimeoutMs: number) {
  const config = parseConfig({
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address }] }],
    // The interval never fires during a test: each scrape is one the test starts.
    scheduler: {
      scrape_interval_ms: 60_000,
      unhealthy_after_failures: 2,
      scrape_timeout_ms: scrapeTimeoutMs,
    },
  });
  const cluster = new ClusterState(config.pools);
  const { log, lines } = captureLogger('ext-proc');
  const scrapes: Scrape[] = [];
  const metrics = { scraped: (...a: Scrape) => void scrapes.push(a) };
  const scraper = new EndpointScraper(cluster, config, metrics, log);
  return { cluster, scraper, scrapes, lines };
}

test('scrapes vLLM metrics, marks failing endpoints unhealthy and brings them back', async () => {
  const server = new FakeModelServer(10_000);
  await server.start();
  server.waiting = 5;
  server.running = 9;
  server.kvUsage = 0.3;
  // A timeout no scrape of a live server reaches, however busy the machine: failures here
  // are refused connections; the timeout has its own test below.
  const { cluster, scraper, scrapes, lines } = scraperFor(server.address, 60_000);
  try {
    await scraper.scrapeAll();
    const ep = cluster.endpoint(server.address);
    assert.ok(ep);
    assert.deepEqual([ep.waiting, ep.running, ep.kvUsage, ep.kvCapacityTokens], [5, 9, 0.3, 160_000]);
    server.stopAnswering();
    await scraper.scrapeAll();
    assert.equal(ep.healthy, true, 'one failure is tolerated');
    await scraper.scrapeAll();
    assert.equal(ep.healthy, false, 'taken out after two');
    assert.ok(lines().some((l) => l['msg'] === 'endpoint unhealthy: stop sending to it'));
    server.resumeAnswering();
    await scraper.scrapeAll();
    assert.equal(ep.healthy, true, 'back once it answers');
    assert.deepEqual(
      scrapes.map(([pool, , ok, healthy]) => [pool, ok, healthy]),
      [
        ['p', true, true],
        ['p', false, true],
        ['p', false, false],
        ['p', true, true],
      ],
    );
  } finally {
    scraper.stop();
    await server.stop();
  }
});

test('a server that accepts but never answers fails its scrape at the timeout', async () => {
  // It never answers, so the short timeout expires on any machine.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  const { cluster, scraper, scrapes, lines } = scraperFor(address, 50);
  try {
    await scraper.scrapeAll();
    await scraper.scrapeAll();
    assert.equal(cluster.endpoint(address)?.healthy, false);
    assert.deepEqual(
      scrapes.map(([, , ok]) => ok),
      [false, false],
    );
    const warning = lines().find((l) => l['msg'] === 'endpoint unhealthy: stop sending to it');
    assert.match(JSON.stringify(warning?.['err']), /TimeoutError|aborted due to timeout/);
  } finally {
    scraper.stop();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});
