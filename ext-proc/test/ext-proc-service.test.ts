// The real service on a real port, driven by the Envoy-faithful client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { routedCluster } from '../../test-support/src/envoy-ext-proc-client.js';
import { getHeader } from '../../test-support/src/header-mutation.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import {
  chatBody,
  chatHeaders,
  type Harness,
  MODEL,
  metricsText,
  startHarness,
  testConfig,
} from './support/harness.js';

const ENDPOINTS = ['127.0.0.11:8000', '127.0.0.12:8000'];

function json(buf: Buffer): Record<string, any> {
  return JSON.parse(buf.toString()) as Record<string, any>;
}

describe('ext_proc service, BUFFERED', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  test('routes a chat request: cluster header, endpoint header and metadata, route cache cleared', async () => {
    const headers = chatHeaders();
    const body = chatBody();
    const out = await h.client.processRequest(headers, body);
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(out.failedOpen, null);
    assert.equal(routedCluster(headers, out, 'x-pythia-cluster'), 'llama-8b');
    const endpoint = getHeader(out.headers, 'x-gateway-destination-endpoint');
    assert.ok(endpoint && ENDPOINTS.includes(endpoint), `endpoint ${endpoint}`);
    const lb = out.dynamicMetadata['envoy.lb'] as Record<string, string>;
    assert.ok(lb['x-gateway-destination-endpoint']?.startsWith(endpoint));
    assert.equal(out.routeCleared, true);
    assert.deepEqual(out.body, body, 'body untouched');
  });

  test('spreads load: least outstanding requests across the pool', async () => {
    const exchanges = [h.client.open(), h.client.open()];
    const outs = await Promise.all(exchanges.map((e) => e.processRequest(chatHeaders(), [chatBody()])));
    const chosen = outs.map((o) =>
      o.kind === 'continue' ? getHeader(o.headers, 'x-gateway-destination-endpoint') : '',
    );
    assert.deepEqual([...chosen].sort(), ENDPOINTS, 'two concurrent requests land on both endpoints');
    for (const e of exchanges) e.close();
  });

  test('strips client-supplied routing and prediction headers on LLM and other routes', async () => {
    const spoof: Array<[string, string]> = [
      ['x-pythia-cluster', 'attacker-cluster'],
      ['x-gateway-destination-endpoint', '6.6.6.6:80'],
      ['x-pythia-priority', '0'],
      ['x-pythia-mode', 'proactive'],
    ];
    const out = await h.client.processRequest(chatHeaders(spoof), chatBody());
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(getHeader(out.headers, 'x-pythia-cluster'), 'llama-8b');
    assert.ok(ENDPOINTS.includes(getHeader(out.headers, 'x-gateway-destination-endpoint') ?? ''));
    assert.equal(getHeader(out.headers, 'x-pythia-priority'), undefined);
    assert.equal(getHeader(out.headers, 'x-pythia-mode'), undefined);
    assert.equal(out.headers.filter(([k]) => k === 'x-pythia-cluster').length, 1);

    const other = await h.client.processRequest(
      [
        [':method', 'GET'],
        [':path', '/v1/models'],
        ['x-pythia-cluster', 'attacker-cluster'],
      ],
      Buffer.alloc(0),
    );
    assert.equal(other.kind, 'continue');
    if (other.kind !== 'continue') return;
    assert.equal(getHeader(other.headers, 'x-pythia-cluster'), undefined);
    assert.equal(other.routeCleared, true, 'route recomputed without the spoofed header');
    const metrics = await metricsText(h.service);
    assert.match(metrics, /pythia_ext_proc_spoofed_headers_stripped_total\{header="x-pythia-cluster"\} 2/);
    assert.match(
      metrics,
      /pythia_ext_proc_spoofed_headers_stripped_total\{header="x-gateway-destination-endpoint"\} 1/,
    );
  });

  test('non-LLM paths and methods pass through untouched', async () => {
    for (const [method, path] of [
      ['GET', '/v1/models'],
      ['POST', '/v1/embeddings'],
      ['GET', '/v1/chat/completions'],
      ['POST', '/healthz'],
    ] as const) {
      const headers: Array<[string, string]> = [
        [':method', method],
        [':path', path],
        ['content-type', 'application/json'],
      ];
      const body = method === 'POST' ? Buffer.from('{"not": "inspected"') : Buffer.alloc(0);
      const out = await h.client.processRequest(headers, body);
      assert.equal(out.kind, 'continue', `${method} ${path}`);
      if (out.kind !== 'continue') return;
      assert.deepEqual(out.headers, headers);
      assert.deepEqual(out.body, body);
      assert.equal(out.routeCleared, false);
    }
    assert.match(
      await metricsText(h.service),
      /pythia_ext_proc_pass_through_total\{reason="not_llm_route"\} [4-9]/,
    );
  });

  test('a query string does not hide an LLM route', async () => {
    const out = await h.client.processRequest(
      chatHeaders([], '/v1/chat/completions?api-version=1'),
      chatBody(),
    );
    assert.equal(out.kind === 'continue' && getHeader(out.headers, 'x-pythia-cluster'), 'llama-8b');
  });

  test('malformed JSON answers 400 in OpenAI error JSON', async () => {
    const out = await h.client.processRequest(chatHeaders(), Buffer.from('{"model": "x", "messages": [}'));
    assert.equal(out.kind, 'local_reply');
    if (out.kind !== 'local_reply') return;
    assert.equal(out.status, 400);
    assert.equal(out.envoyError, null, 'the reply is ours, not an Envoy failure');
    assert.equal(getHeader(out.headers, 'content-type'), 'application/json');
    const err = json(out.body)['error'];
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, /not valid JSON/);
    assert.equal(err.code, 'invalid_json');
  });

  test('missing body and missing model answer 400', async () => {
    const empty = await h.client.processRequest(chatHeaders(), Buffer.alloc(0));
    assert.equal(empty.kind === 'local_reply' && empty.status, 400);
    const noModel = await h.client.processRequest(chatHeaders(), Buffer.from('{"messages": []}'));
    assert.equal(noModel.kind === 'local_reply' && noModel.status, 400);
  });

  test('unknown model answers 404 model_not_found', async () => {
    const out = await h.client.processRequest(chatHeaders(), chatBody('gpt-17'));
    assert.equal(out.kind, 'local_reply');
    if (out.kind !== 'local_reply') return;
    assert.equal(out.status, 404);
    assert.equal(json(out.body)['error'].code, 'model_not_found');
  });

  test('a pool with no ready endpoint answers 503', async () => {
    const out = await h.client.processRequest(chatHeaders(), chatBody('idle-model'));
    assert.equal(out.kind === 'local_reply' && out.status, 503);
    h.service.cluster.setHealthy('127.0.1.11:8000', false);
    try {
      const down = await h.client.processRequest(chatHeaders(), chatBody('Qwen/Qwen2.5-14B-Instruct'));
      assert.equal(down.kind === 'local_reply' && down.status, 503);
    } finally {
      h.service.cluster.setHealthy('127.0.1.11:8000', true);
    }
  });

  test('invalid workflow identifiers are ignored and counted; the request is still routed', async () => {
    const out = await h.client.processRequest(
      chatHeaders([
        ['x-pythia-workflow', 'coding'],
        ['x-pythia-session', 'x'.repeat(500)],
        ['x-pythia-agent', 'rm -rf /'],
      ]),
      chatBody(),
    );
    assert.equal(out.kind, 'continue');
    const metrics = await metricsText(h.service);
    assert.match(
      metrics,
      /pythia_ext_proc_invalid_identifiers_total\{identifier="session",problem="too_long"\} 1/,
    );
    assert.match(
      metrics,
      /pythia_ext_proc_invalid_identifiers_total\{identifier="agent",problem="bad_charset"\} 1/,
    );
  });

  test('response side: STREAMED answers every chunk unchanged and counts reported usage', async () => {
    const exchange = h.client.open();
    const out = await exchange.processRequest(chatHeaders(), [chatBody(MODEL, { stream: true })]);
    assert.equal(out.kind, 'continue');
    const endpoint =
      out.kind === 'continue' ? (getHeader(out.headers, 'x-gateway-destination-endpoint') ?? '') : '';
    assert.equal(h.service.cluster.endpoint(endpoint)?.inFlight, 1, 'in flight while the response streams');
    const resp = await exchange.processResponseHeaders(200, [['content-type', 'text/event-stream']], false);
    assert.equal(resp.failedOpen, null);
    const chunks = [
      'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
      'data: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":2}}\n\n',
      'data: [DONE]\n\n',
    ];
    for (let i = 0; i < chunks.length; i++) {
      const forwarded = await exchange.processResponseBody(
        Buffer.from(chunks[i] ?? ''),
        i === chunks.length - 1,
      );
      assert.equal(forwarded.toString(), chunks[i]);
    }
    exchange.close();
    assert.equal(h.service.cluster.endpoint(endpoint)?.inFlight, 0, 'released when the response ends');
    assert.match(
      await metricsText(h.service),
      /pythia_ext_proc_output_tokens_total\{pool="llama-8b",source="reported"\} 2/,
    );
  });

  test('a stream closed mid-response releases its endpoint', async () => {
    const exchange = h.client.open();
    const out = await exchange.processRequest(chatHeaders(), [chatBody()]);
    const endpoint =
      out.kind === 'continue' ? (getHeader(out.headers, 'x-gateway-destination-endpoint') ?? '') : '';
    assert.equal(h.service.cluster.endpoint(endpoint)?.inFlight, 1);
    exchange.close();
    await waitFor('the endpoint released', () => h.service.cluster.endpoint(endpoint)?.inFlight === 0);
    assert.match(
      await metricsText(h.service),
      /pythia_ext_proc_requests_completed_total\{pool="llama-8b",status="CANCELLED"\} [1-9]/,
    );
  });

  test('observability mode: the service sends no answers and still counts tokens', async () => {
    const exchange = h.client.open({ observabilityMode: true });
    // In observability mode Envoy does not wait for answers: the request passes as it is.
    const out = await exchange.processRequest(chatHeaders(), [chatBody()]);
    assert.equal(out.kind, 'continue');
    await exchange.processResponseHeaders(200, [['content-type', 'text/event-stream']], false);
    await exchange.processResponseBody(
      Buffer.from('data: {"choices":[{"delta":{"content":"abcdefgh"}}]}\n\n'),
      true,
    );
    // The server ends the stream after the last message; its status comes after anything it
    // (wrongly) answered on the stream, so every stray answer is in by then.
    assert.equal((await exchange.serverClosed())?.code, grpc.status.OK);
    const stray = (exchange as unknown as { queue: unknown[] }).queue.filter(
      (r) => (r as { kind: string }).kind === 'response',
    );
    exchange.close();
    assert.equal(stray.length, 0, 'no answers in observability mode');
  });

  test("Envoy's end-then-cancel close is never logged as an error", async () => {
    for (let i = 0; i < 20; i++) await h.client.processRequest(chatHeaders(), chatBody());
    // Every stream has been closed on the server side...
    await waitFor('the server to see every stream close', async () =>
      /pythia_ext_proc_streams_active 0\n/.test(await metricsText(h.service)),
    );
    // ...and one more exchange on the same connection: its answer comes after the server has
    // handled the resets that Envoy's close sent before it (one connection, frames in order).
    await h.client.processRequest(
      [
        [':method', 'GET'],
        [':path', '/healthz'],
      ],
      Buffer.alloc(0),
    );
    const bad = h.logs().filter((l) => Number(l['level']) >= 40);
    assert.deepEqual(bad, []);
  });

  test('never logs prompt text', async () => {
    const secret = 'TOP-SECRET-PROMPT-CONTENT';
    await h.client.processRequest(
      chatHeaders(),
      Buffer.from(`{"model": "${MODEL}", "messages": [{"content": "${secret}"`),
    );
    await h.client.processRequest(
      chatHeaders(),
      chatBody(MODEL, { messages: [{ role: 'user', content: secret }] }),
    );
    assert.equal(JSON.stringify(h.logs()).includes(secret), false);
  });

  test('health: gRPC health service and HTTP probes', async () => {
    const base = `http://127.0.0.1:${h.service.adminPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /pythia_ext_proc_decision_duration_seconds_bucket/);
    const { HealthClient } = await healthClient();
    const client = new HealthClient(`127.0.0.1:${h.service.grpcPort}`, grpc.credentials.createInsecure());
    const status = await new Promise<string>((resolve, reject) =>
      client.check(
        { service: 'envoy.service.ext_proc.v3.ExternalProcessor' },
        (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status)),
      ),
    );
    client.close();
    assert.equal(status, 'SERVING');
  });
});

async function healthClient(): Promise<{
  HealthClient: new (target: string, creds: grpc.ChannelCredentials) => any;
}> {
  const { protoPath } = await import('grpc-health-check');
  const loader = await import('@grpc/proto-loader');
  const def = loader.loadSync(protoPath, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(def) as any;
  return { HealthClient: pkg.grpc.health.v1.Health };
}

describe('ext_proc service, limits and defaults', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(testConfig({ ext_proc: { max_body_bytes: 64 * 1024, default_pool: 'qwen-14b' } }));
  });
  after(async () => {
    await h.stop();
  });

  test('a declared content-length over the limit answers 413 at the headers', async () => {
    const out = await h.client.processRequest(
      chatHeaders([['content-length', String(200 * 1024)]]),
      chatBody(),
    );
    assert.equal(out.kind === 'local_reply' && out.status, 413);
  });

  test('a body over the limit answers 413 (no content-length)', async () => {
    const big = chatBody(MODEL, { messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    const out = await h.client.processRequest(chatHeaders(), big);
    assert.equal(out.kind, 'local_reply');
    if (out.kind !== 'local_reply') return;
    assert.equal(out.status, 413);
    assert.equal(json(out.body)['error'].code, 'request_too_large');
  });

  test('unknown models go to the default pool when one is configured', async () => {
    const out = await h.client.processRequest(chatHeaders(), chatBody('some-unlisted-model'));
    assert.equal(out.kind === 'continue' && getHeader(out.headers, 'x-pythia-cluster'), 'qwen-14b');
  });
});

describe('ext_proc service, FULL_DUPLEX_STREAMED', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(testConfig({ ext_proc: { request_body_mode: 'FULL_DUPLEX_STREAMED' } }), {
      requestBodyMode: 'FULL_DUPLEX_STREAMED',
      responseBodyMode: 'FULL_DUPLEX_STREAMED',
    });
  });
  after(async () => {
    await h.stop();
  });

  test('mode from protocol_config: picks on the whole body and streams it back in chunks', async () => {
    const body = chatBody(MODEL, { messages: [{ role: 'user', content: 'y'.repeat(200 * 1024) }] });
    const chunks = [body.subarray(0, 70_000), body.subarray(70_000, 150_000), body.subarray(150_000)];
    const out = await h.client.processRequest(chatHeaders(), chunks);
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(out.failedOpen, null);
    assert.deepEqual(out.body, body);
    assert.equal(getHeader(out.headers, 'x-pythia-cluster'), 'llama-8b');
    assert.ok(ENDPOINTS.includes(getHeader(out.headers, 'x-gateway-destination-endpoint') ?? ''));
    assert.ok(out.dynamicMetadata['envoy.lb']);
  });

  test('mode from configuration when the first message has no protocol_config', async () => {
    const out = await h.client.processRequest(chatHeaders(), [chatBody()], { sendProtocolConfig: false });
    assert.equal(out.kind === 'continue' && getHeader(out.headers, 'x-pythia-cluster'), 'llama-8b');
  });

  test('errors are immediate responses in this mode too', async () => {
    const out = await h.client.processRequest(chatHeaders(), [Buffer.from('{bad')]);
    assert.equal(out.kind === 'local_reply' && out.status, 400);
  });

  test('pass-through requests have their body streamed back unchanged', async () => {
    const body = Buffer.from('{"input": "embed me"}');
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':path', '/v1/embeddings'],
    ];
    const out = await h.client.processRequest(headers, [body]);
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(out.failedOpen, null);
    assert.deepEqual(out.body, body);
  });

  test('response chunks are streamed back as they come', async () => {
    const exchange = h.client.open();
    await exchange.processRequest(chatHeaders(), [chatBody(MODEL, { stream: true })]);
    await exchange.processResponseHeaders(200, [['content-type', 'text/event-stream']], false);
    const chunk = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n';
    assert.equal((await exchange.processResponseBody(Buffer.from(chunk), false)).toString(), chunk);
    assert.equal(
      (await exchange.processResponseBody(Buffer.from('data: [DONE]\n\n'), true)).toString(),
      'data: [DONE]\n\n',
    );
    exchange.close();
  });
});
