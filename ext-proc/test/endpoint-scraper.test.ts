// Scraping real HTTP servers on loopback: load figures flow into the cluster state, an
// endpoint that stops answering is taken out after N failures and comes back when it answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { captureLogger } from '../../common/src/testing/log-capture.js';
import { EndpointScraper } from '../src/adapters/endpoint-scraper.js';
import { ExtProcMetrics } from '../src/adapters/metrics.js';
import { ClusterState } from '../src/core/cluster-state.js';
import { FakeModelServer } from './support/fake-model-server.js';

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
  const metrics = new ExtProcMetrics(false);
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
    assert.match(
      await metrics.registry.metrics(),
      /pythia_ext_proc_endpoint_healthy\{pool="p",endpoint="127\.0\.0\.1:\d+"\} 1/,
    );
  } finally {
    scraper.stop();
    await server.stop();
  }
});
