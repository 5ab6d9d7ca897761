// The real-time simulator behind its OpenAI-compatible HTTP server, reached through the
// Envoy-faithful HTTP gateway and the real ext_proc service.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { startExtProc } from '../../ext-proc/src/adapters/service.js';
import { EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { HttpGateway } from '../../test-support/src/http-gateway.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { SimulatedReplica, retentionFromBody } from '../src/sim/server.js';

test('OpenAI API with SSE and usage, vLLM metrics, /health, through the gateway', async () => {
  const sim = new SimulatedReplica({
    profile: H100_LLAMA_8B,
    model: 'llama',
    policy: 'fcfs',
    timeScale: 10,
    flushMs: 20,
    startupMs: 0,
  });
  await sim.start();
  const config = parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    pools: [{ name: 'llama', models: ['llama'], endpoints: [{ address: sim.address }] }],
    // The replica always answers: no scrape may time out on a busy machine and take it out.
    scheduler: { scrape_interval_ms: 200, scrape_timeout_ms: 60_000 },
  });
  const { log } = captureLogger('ext-proc', 'warn');
  const extProc = await startExtProc(config, { log, collectProcessMetrics: false });
  const client = new EnvoyExtProcClient(`127.0.0.1:${extProc.grpcPort}`, TEST_FILTER);
  const gateway = new HttpGateway({
    client,
    clusters: new Map([['llama', [sim.address]]]),
    fallbackCluster: 'llama',
    models: ['llama'],
  });
  await gateway.start(0);
  try {
    assert.equal((await fetch(`http://${sim.address}/health`)).status, 200);
    const base = `http://127.0.0.1:${gateway.port}`;
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['llama'],
    );
    const body = {
      model: 'llama',
      messages: [
        { role: 'system', content: 'S'.repeat(4000) },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 40,
      stream: true,
    };
    const ask = async () => {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream_options: { include_usage: true } }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const text = await res.text();
      assert.match(text, /data: \[DONE\]\n\n$/);
      const events = [...text.matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1] ?? '{}'));
      const last = events.at(-1);
      assert.equal(last.object, 'chat.completion.chunk', 'the usage chunk has the stream object type');
      assert.deepEqual(last.choices, []);
      assert.equal(events.at(-2).choices[0].finish_reason, 'length', 'max_tokens reached');
      return { usage: last.usage, tokens: (text.match(/tok /g) ?? []).length };
    };
    const first = await ask();
    assert.equal(first.tokens, 40, 'exactly max_tokens tokens streamed');
    assert.equal(first.usage.completion_tokens, 40);
    assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
    const second = await ask();
    assert.ok(
      second.usage.prompt_tokens_details.cached_tokens >= 960,
      'the shared system prompt is served from the prefix cache',
    );
    const metrics = await (await fetch(`http://${sim.address}/metrics`)).text();
    assert.match(metrics, /vllm:num_requests_running\{model_name="llama"\} 0/);
    assert.match(metrics, /vllm:cache_config_info\{block_size="16",num_gpu_blocks="28125"\} 1/);
    assert.match(metrics, /vllm:generation_tokens_total\{model_name="llama"\} 80/);
    const bad = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    assert.equal(bad.status, 400, 'malformed JSON answered by ext_proc');
  } finally {
    await gateway.stop();
    client.close();
    await extProc.stop();
    await sim.stop();
  }
});

/** A replica at 50x real time, ready at once. */
async function fastReplica(): Promise<SimulatedReplica> {
  const sim = new SimulatedReplica({
    profile: H100_LLAMA_8B,
    model: 'llama',
    policy: 'fcfs',
    timeScale: 50,
    flushMs: 20,
    startupMs: 0,
  });
  await sim.start();
  return sim;
}

function postCompletion(sim: SimulatedReplica, body: Record<string, unknown>): Promise<Response> {
  return fetch(`http://${sim.address}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama', ...body }),
    // Only a hung replica gets here; the answers take milliseconds.
    signal: AbortSignal.timeout(60_000),
  });
}

test('session KV retention in the body (nvext.session_control): parsed, defaulted, bad values rejected with 400', async () => {
  const control = (c: unknown) => retentionFromBody({ nvext: { session_control: c } });
  assert.equal(retentionFromBody({}), null);
  assert.equal(retentionFromBody({ nvext: {} }), null);
  assert.deepEqual(control({ session_id: 's-1', timeout: 30 }), { key: 's-1', ttlMs: 30_000 });
  assert.deepEqual(control({ session_id: 's-1' }), { key: 's-1', ttlMs: 300_000 }, "Dynamo's default");
  assert.deepEqual(control({ session_id: 's-1', timeout: 30, action: 'close' }), { key: 's-1', ttlMs: 0 });
  assert.match(String(control({ timeout: 3 })), /session_id/);
  assert.match(String(control({ session_id: 'x'.repeat(257) })), /session_id/);
  assert.match(String(control({ session_id: 's', timeout: -1 })), /timeout/);
  assert.match(String(control({ session_id: 's', timeout: 1e9 })), /timeout/);
  assert.match(String(control({ session_id: 's', action: 'keep' })), /action/);
  assert.match(String(retentionFromBody({ nvext: 'x' })), /nvext/);

  const sim = await fastReplica();
  try {
    const post = (extra: Record<string, unknown>) =>
      postCompletion(sim, { prompt: 'P'.repeat(8000), max_tokens: 4, ...extra });
    const bad = await post({ nvext: { session_control: { session_id: 's', timeout: 'soon' } } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /timeout/);
    const ok = await post({ nvext: { session_control: { session_id: 's', timeout: 60 } } });
    assert.equal(ok.status, 200);
    await ok.json();
    assert.ok(sim.engine.pinnedRefs > 0, 'the finished request is pinned for its session');
    const next = await post({ nvext: { session_control: { session_id: 's', action: 'close' } } });
    const usage = ((await next.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } })
      .usage;
    assert.ok(usage.prompt_tokens_details.cached_tokens >= 1984, 'the next turn found the context');
    assert.equal(sim.engine.pinnedRefs, 0, 'close releases the session and pins nothing');
  } finally {
    await sim.stop();
  }
});

test('prompts longer than the KV cache holds are refused with 400, and the replica keeps serving', async () => {
  const sim = await fastReplica();
  try {
    const post = (prompt: string, maxTokens = 4) => postCompletion(sim, { prompt, max_tokens: maxTokens });
    const [three, seven] = await Promise.all([
      post('x'.repeat(3 * 1024 * 1024)),
      post('y'.repeat(7 * 1024 * 1024)),
    ]);
    for (const res of [three, seven]) {
      assert.equal(res.status, 400);
      assert.match(
        ((await res.json()) as { error: { message: string } }).error.message,
        /maximum context length/,
      );
    }
    const fits = sim.maxModelLen - 4;
    const edge = await post('z'.repeat((fits - 1) * 4), 4);
    assert.equal(edge.status, 200, 'a sequence that just fits is served');
    await edge.json();
    const small = await post('hello');
    assert.equal(small.status, 200, 'the replica still serves');
    await small.json();
    assert.equal((await fetch(`http://${sim.address}/health`)).status, 200);
  } finally {
    await sim.stop();
  }
});
