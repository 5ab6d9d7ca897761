// Stream hygiene of the running service: streams nobody finishes are reaped at their
// deadlines, a body past every limit gets a 413 rather than a gRPC error, and a graceful
// stop publishes the traces it still holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { TRACES } from '../../core/src/wire/channels.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { StreamTable } from '../src/core/envoy/stream-hygiene.js';
import { startExtProc } from '../src/adapters/service.js';
import { MODEL, chatBody, chatHeaders, metricsText, startHarness, testConfig } from './support/harness.js';

test('the stream table names streams past their idle or total deadline, once', () => {
  const table = new StreamTable<string>({ idleMs: 100, totalMs: 1000 });
  table.open('busy', 0);
  table.open('idle', 0);
  for (let t = 50; t <= 950; t += 50) table.touch('busy', t);
  assert.deepEqual(table.sweep(99), []);
  assert.deepEqual(table.sweep(960), [['idle', 'idle_timeout']]);
  assert.deepEqual(table.sweep(1000), [['busy', 'total_timeout']]);
  assert.equal(table.size, 0);
  assert.deepEqual(table.sweep(5000), []);
});

test('a stream left open after its request is reaped at the idle deadline, ending with OK', async () => {
  const clock = new ManualClock();
  const config = testConfig({ ext_proc: { stream_idle_timeout_s: 60, stream_max_duration_s: 600 } });
  const { log } = captureLogger('ext-proc', 'warn');
  const service = await startExtProc(config, { log, collectProcessMetrics: false, clock });
  const client = new EnvoyExtProcClient(`127.0.0.1:${service.grpcPort}`, TEST_FILTER);
  const exchange = client.open();
  try {
    // Routed, then nothing more: an Envoy that lost the request without resetting the stream.
    const routed = await exchange.processRequest(chatHeaders(), [chatBody()]);
    assert.equal(routed.kind, 'continue');
    clock.advance(59_000);
    assert.equal(service.streams.sweep(), 0, 'not yet idle');
    clock.advance(1_000);
    assert.equal(service.streams.sweep(), 1);
    const status = await exchange.serverClosed();
    assert.equal(status?.code, grpc.status.OK, 'OK: an Envoy still there continues the request');
    const metrics = await metricsText(service);
    assert.match(metrics, /pythia_ext_proc_stream_errors_total\{reason="idle_timeout"\} 1\n/);
    assert.match(metrics, /pythia_ext_proc_streams_active 0\n/);
    assert.match(metrics, /pythia_ext_proc_requests_completed_total\{pool="llama-8b",status="CANCELLED"\} 1/);
  } finally {
    exchange.close();
    client.close();
    await service.stop();
  }
});

test('a BUFFERED body far over max_body_bytes without content-length is answered 413, not a gRPC error', async () => {
  const h = await startHarness(testConfig({ ext_proc: { max_body_bytes: 64 * 1024 } }), {
    failureModeAllow: false,
  });
  try {
    const huge = chatBody(MODEL, { messages: [{ role: 'user', content: 'x'.repeat(3 * 1024 * 1024) }] });
    const out = await h.client.processRequest(chatHeaders(), huge);
    assert.equal(out.kind, 'local_reply');
    assert.equal(out.kind === 'local_reply' && out.status, 413);
    assert.match(out.kind === 'local_reply' ? out.body.toString() : '', /request_too_large/);
  } finally {
    await h.stop();
  }
});

function trace(i: number): Trace {
  return {
    requestId: `stop-flush-${i}`,
    exchange: `stop-flush-${i}`,
    workflow: 'coding',
    session: `s${i % 5}`,
    agent: 'planner',
    model: MODEL,
    pool: 'llama-8b',
    endpoint: '127.0.0.11:8000',
    promptTokens: 100,
    cachedTokens: null,
    outputTokens: 20,
    outputTokensReported: true,
    queueMs: 1,
    firstTokenMs: 2,
    totalMs: 3,
    startUnixMs: 1_700_000_000_000 + i,
    endUnixMs: 1_700_000_000_003 + i,
    status: 'OK',
    httpStatus: 200,
    promptBytes: 400,
    sessionEnd: false,
    predictedAgent: '',
    predictedOutputTokens: 0,
    mode: '',
  };
}

test('a graceful stop publishes the traces still buffered', { skip: !natsServerAvailable() }, async () => {
  const nats = await TestNatsServer.start();
  try {
    const { log } = captureLogger('ext-proc', 'warn');
    const service = await startExtProc(testConfig({ nats: { url: nats.url } }), {
      log,
      collectProcessMetrics: false,
    });
    for (let i = 0; i < 50; i++) service.traces?.publish(trace(i));
    await service.stop();
    const nc = await connect({ servers: nats.url });
    try {
      const info = await (await nc.jetstreamManager()).streams.info(TRACES.stream);
      assert.equal(info.state.messages, 50, 'every buffered trace reached the stream');
    } finally {
      await nc.close();
    }
  } finally {
    await nats.stop();
  }
});
