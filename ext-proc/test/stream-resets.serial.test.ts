// A burst of Envoy-style resets (half-close then RST_STREAM on streams still waiting for
// their response: clients that went away) on one connection. Node's HTTP/2 stack closes a
// connection past 1000 resets, taking every other stream on it; with connections recycled
// after ext_proc.max_streams_per_connection streams, no connection gets there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExtProcExchange } from '../../test-support/src/envoy-ext-proc-client.js';
import {
  type Harness,
  chatBody,
  chatHeaders,
  metricsText,
  startHarness,
  testConfig,
} from './support/harness.js';

/**
 * Opens `streams` exchanges in waves (as Envoy's pool does: never more than a wave pending),
 * leaves each routed and waiting for its response, then resets them all at once while a
 * first exchange, opened before the burst, is still in progress. Returns whether that
 * exchange and a new one afterwards were still served, and how many exchanges failed.
 */
async function resetBurst(
  h: Harness,
  streams: number,
): Promise<{
  failed: number;
  keeperServed: boolean;
  afterServed: boolean;
}> {
  const keeper = h.client.open();
  const first = await keeper.processRequest(chatHeaders(), [chatBody()]);
  assert.equal(first.kind === 'continue' && first.failedOpen, null);
  const open: ExtProcExchange[] = [];
  let failed = 0;
  const wave = 100;
  for (let i = 0; i < streams; i += wave) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(wave, streams - i) }, async () => {
        const exchange = h.client.open();
        const out = await exchange.processRequest(chatHeaders(), [chatBody()]);
        if (out.kind !== 'continue' || out.failedOpen !== null) failed++;
        return exchange;
      }),
    );
    open.push(...batch);
  }
  // Mid-exchange: no response was seen, so each close is a reset of an active stream.
  for (const exchange of open) exchange.close();
  const keeperAnswer = await keeper.processResponseHeaders(200, [], true);
  keeper.close();
  const after = await h.client.processRequest(chatHeaders(), chatBody());
  return {
    failed,
    keeperServed: keeperAnswer.failedOpen === null,
    afterServed: after.kind === 'continue' && after.failedOpen === null,
  };
}

test("without recycling, Node's reset limit drops the connection (the limit the recycling avoids)", async () => {
  const h = await startHarness(
    testConfig({ log_level: 'warn', ext_proc: { max_streams_per_connection: 0 } }),
  );
  try {
    const r = await resetBurst(h, 1500);
    assert.equal(r.failed, 0, 'every exchange was served before the burst');
    assert.equal(r.keeperServed && r.afterServed, false, 'the connection, and the stream on it, were lost');
  } finally {
    await h.stop();
  }
});

test('3,000 Envoy-style resets in a burst: the other streams on the connection are served', async () => {
  const h = await startHarness(
    testConfig({ log_level: 'warn', ext_proc: { max_streams_per_connection: 500 } }),
  );
  try {
    const r = await resetBurst(h, 3000);
    assert.deepEqual(r, { failed: 0, keeperServed: true, afterServed: true });
    const recycled = Number(
      /pythia_ext_proc_connections_recycled_total (\d+)/.exec(await metricsText(h.service))?.[1],
    );
    assert.ok(recycled >= 5, `connections recycled every 500 streams (${recycled})`);
  } finally {
    await h.stop();
  }
});
