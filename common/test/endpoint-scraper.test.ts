// Scraping real HTTP servers on loopback: load figures flow into the cluster state, an
// endpoint that stops answering is taken out after N failures and comes back when it answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { EndpointScraper } from '../src/endpoint-scraper.js';
import { ClusterState } from '../../core/src/cluster/cluster-state.js';
import { FakeModelServer } from '../../test-support/src/fake-model-server.js';

test('scrapes vLLM metrics, marks failing endpoints unhealthy and brings them back', async () => {
  const server = new FakeModelServer(10_000);
  await server.start();
  server.waiting = 5;
  server.running = 9;
  server.kvUsage = 0.3;
  const config = parseConfig({
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: server.address }] }],
    scheduler: { scrape_interval_ms: 60_000, unhealthy_after_failures: 2, scrape_timeout_ms: 300 },
  });
  const cluster = new ClusterState(config.pools);
  const { log, lines } = captureLogger('ext-proc');
  const scrapes: Array<[string, string, boolean, boolean]> = [];
  const metrics = { scraped: (...a: [string, string, boolean, boolean]) => void scrapes.push(a) };
  const scraper = new EndpointScraper(cluster, config, metrics, log);
  try {
    await scraper.scrapeAll();
    const ep = cluster.endpoint(server.address);
    assert.ok(ep);
    assert.deepEqual([ep.waiting, ep.running, ep.kvUsage, ep.kvCapacityTokens], [5, 9, 0.3, 160_000]);
    const port = server.port;
    await server.stop();
    await scraper.scrapeAll();
    assert.equal(ep.healthy, true, 'one failure is tolerated');
    await scraper.scrapeAll();
    assert.equal(ep.healthy, false, 'taken out after two');
    assert.ok(lines().some((l) => l['msg'] === 'endpoint unhealthy: stop sending to it'));
    await server.start(port);
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
