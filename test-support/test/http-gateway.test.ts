// The HTTP gateway's downstream side as Envoy's: curl's `Expect: 100-continue` (sent on
// every body over 1 MiB) and chunked bodies are served, not turned into upstream errors;
// bodies over the buffer limit get 413; only /v1/ is routed.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';
import { DEFAULT_FILTER, EnvoyExtProcClient } from '../src/envoy-ext-proc-client.js';
import { FakeModelServer } from '../src/fake-model-server.js';
import { HttpGateway } from '../src/http-gateway.js';
import { captureLogger } from '../src/log-capture.js';

interface Sent {
  readonly chunked?: boolean;
  readonly expectContinue?: boolean;
  readonly method?: string;
}

/** An HTTP/1.1 request as curl sends it: with Expect, the body waits for the 100. */
function send(
  url: string,
  body: Buffer,
  how: Sent = {},
): Promise<{ status: number; text: string; got100: boolean }> {
  return new Promise((resolve, reject) => {
    let got100 = false;
    const req = request(url, {
      method: how.method ?? 'POST',
      headers: {
        'content-type': 'application/json',
        ...(how.expectContinue ? { expect: '100-continue' } : {}),
        ...(how.chunked ? {} : { 'content-length': body.length }),
      },
    });
    const write = () => {
      for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024));
      req.end();
    };
    req.on('continue', () => {
      got100 = true;
      write();
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString(), got100 }),
      );
    });
    req.on('error', reject);
    if (!how.expectContinue) write();
  });
}

// Small limits keep the bodies quick to move on a loaded machine; the logic is the same at
// the defaults (8 MiB for ext_proc, 8.5 MiB for the gateway, as in envoy/envoy.yaml).
const MAX_BODY = 1024 * 1024;
const BUFFER_LIMIT = MAX_BODY + 512 * 1024;

function chatBody(bytes: number): Buffer {
  const head = '{"model":"llama","max_tokens":3,"messages":[{"role":"user","content":"';
  const tail = '"}]}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
}

describe('the HTTP gateway', () => {
  const upstream = new FakeModelServer();
  let extProc: ExtProcService;
  let client: EnvoyExtProcClient;
  let gateway: HttpGateway;
  let url: string;
  before(async () => {
    await upstream.start();
    const config = parseConfig({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      scheduler: { scrape_interval_ms: 0 },
      ext_proc: { max_body_bytes: MAX_BODY },
      pools: [{ name: 'llama', models: ['llama'], endpoints: [{ address: upstream.address }] }],
    });
    extProc = await startExtProc(config, {
      log: captureLogger('gw', 'warn').log,
      collectProcessMetrics: false,
    });
    // Envoy's 200 ms message timeout would fail a slow answer open; this test is about bodies.
    client = new EnvoyExtProcClient(`127.0.0.1:${extProc.grpcPort}`, {
      ...DEFAULT_FILTER,
      messageTimeoutMs: 5000,
    });
    gateway = new HttpGateway({
      client,
      clusters: new Map([['llama', [upstream.address]]]),
      fallbackCluster: 'llama',
      models: ['llama'],
      bufferLimitBytes: BUFFER_LIMIT,
    });
    await gateway.start(0);
    url = `http://127.0.0.1:${gateway.port}`;
  });
  after(async () => {
    await gateway?.stop();
    client?.close();
    await extProc?.stop();
    await upstream.stop();
  });

  test('Expect: 100-continue (curl sends it with bodies over 1 MiB): 100, then 200; neither Expect nor the framing goes upstream', async () => {
    upstream.received.length = 0;
    const res = await send(`${url}/v1/chat/completions`, chatBody(MAX_BODY - 1000), { expectContinue: true });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.got100, 'the client was told to send its body');
    const seen = upstream.received[0]?.headers ?? {};
    assert.equal(seen['expect'], undefined);
    assert.equal(seen['x-pythia-cluster'], 'llama', 'routed by ext_proc');
  });

  test('a chunked body, with and without Expect, is routed like any other', async () => {
    for (const expectContinue of [false, true]) {
      upstream.received.length = 0;
      const res = await send(`${url}/v1/chat/completions`, chatBody(300 * 1024), {
        chunked: true,
        expectContinue,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(upstream.received[0]?.headers['x-pythia-cluster'], 'llama');
      assert.equal(upstream.received[0]?.headers['transfer-encoding'], undefined, 'framing is per hop');
    }
  });

  test('too large: ext_proc answers in OpenAI error JSON under the buffer limit, the gateway 413 above it', async () => {
    const overBodyLimit = await send(`${url}/v1/chat/completions`, chatBody(MAX_BODY + 100), {
      chunked: true,
    });
    assert.equal(overBodyLimit.status, 413);
    assert.equal(JSON.parse(overBodyLimit.text).error.code, 'request_too_large');
    const tenMiB = await send(`${url}/v1/chat/completions`, chatBody(10 * 1024 * 1024), {
      chunked: true,
      expectContinue: true,
    });
    assert.equal(tenMiB.status, 413);
    const sized = await send(`${url}/v1/chat/completions`, chatBody(10 * 1024 * 1024));
    assert.equal(sized.status, 413);
  });

  test("only the OpenAI API is routed: a replica's /metrics and /health are not reachable through the gateway", async () => {
    for (const path of ['/metrics', '/health', '/reset_prefix_cache']) {
      const res = await send(`${url}${path}`, Buffer.alloc(0), { method: 'GET' });
      assert.equal(res.status, 404, path);
      assert.equal(JSON.parse(res.text).error.type, 'invalid_request_error');
    }
    const model = await send(`${url}/v1/models/llama`, Buffer.alloc(0), { method: 'GET' });
    assert.deepEqual(JSON.parse(model.text).id, 'llama');
  });
});
