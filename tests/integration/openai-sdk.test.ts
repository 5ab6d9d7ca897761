// The official OpenAI Node SDK against the gateway (Envoy-faithful HTTP gateway, the real
// ext_proc service, the simulated replica's OpenAI API): what SDKs read must be there and
// well-formed (ids, created, model, finish_reason, the role delta, usage chunks of the
// stream's object type, models by id, OpenAI error JSON), and a multi-agent session run
// with one SDK client per agent must reach the replica annotated with the learned model.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { parseConfig } from '../../common/src/config/load.js';
import type { PythiaConfig } from '../../common/src/config/schema.js';
import { H100_LLAMA_8B } from '../../bench/src/sim/profiles.js';
import { SimulatedReplica } from '../../bench/src/sim/server.js';
import { HttpGateway } from '../../test-support/src/http-gateway.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { type Stack, startStack } from '../../test-support/src/stack.js';
import { waitFor } from '../../test-support/src/wait-for.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

interface Rig {
  readonly stack: Stack;
  readonly sim: SimulatedReplica;
  readonly gateway: HttpGateway;
  /** Headers of every request the replica received, in order. */
  readonly upstream: IncomingHttpHeaders[];
  readonly baseURL: string;
  stop(): Promise<void>;
}

async function startRig(overrides: Record<string, unknown> = {}, nats?: TestNatsServer): Promise<Rig> {
  const upstream: IncomingHttpHeaders[] = [];
  const sim = new SimulatedReplica({
    profile: H100_LLAMA_8B,
    model: MODEL,
    policy: 'fcfs',
    timeScale: 50,
    flushMs: 10,
    startupMs: 0,
    observe: (req) => {
      if (req.url?.startsWith('/v1/')) upstream.push(req.headers);
    },
  });
  await sim.start();
  const config: PythiaConfig = parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'warn',
    ...(nats ? { nats: { url: nats.url } } : {}),
    pools: [{ name: 'llama-8b', models: [MODEL], endpoints: [{ address: sim.address }] }],
    scheduler: { scrape_interval_ms: 200 },
    ...overrides,
  });
  const stack = await startStack(config, captureLogger('sdk', 'warn').log);
  const gateway = new HttpGateway({
    client: stack.client,
    clusters: new Map([['llama-8b', [sim.address]]]),
    fallbackCluster: 'llama-8b',
    models: [MODEL],
  });
  await gateway.start(0);
  return {
    stack,
    sim,
    gateway,
    upstream,
    baseURL: `http://127.0.0.1:${gateway.port}/v1`,
    async stop() {
      await gateway.stop();
      await stack.stop();
      await sim.stop();
    },
  };
}

function sdk(rig: Rig, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({ baseURL: rig.baseURL, apiKey: 'unused', maxRetries: 0, defaultHeaders: headers });
}

const nowS = () => Math.floor(Date.now() / 1000);
const messages = [
  { role: 'system' as const, content: 'You are a planner. '.repeat(40) },
  { role: 'user' as const, content: 'Plan a small refactoring.' },
];

describe('the OpenAI SDK through the gateway', () => {
  let rig: Rig;
  let client: OpenAI;
  before(async () => {
    rig = await startRig();
    client = sdk(rig);
  });
  after(() => rig?.stop());

  test('models: list and retrieve by id (ids with a slash), unknown ids are NotFoundError', async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => [m.id, m.object]),
      [[MODEL, 'model']],
    );
    const one = await client.models.retrieve(MODEL);
    assert.equal(one.id, MODEL);
    assert.ok(one.created <= nowS() && typeof one.owned_by === 'string');
    await assert.rejects(client.models.retrieve('no-such-model'), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
  });

  test('chat completion: id, created, model, finish_reason length (max_tokens) or stop, usage', async () => {
    const before = nowS();
    const bounded = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 12 });
    assert.match(bounded.id, /^chatcmpl-/);
    assert.equal(bounded.object, 'chat.completion');
    assert.ok(bounded.created >= before && bounded.created <= nowS());
    assert.equal(bounded.model, MODEL);
    assert.equal(bounded.choices[0]?.finish_reason, 'length');
    assert.equal(bounded.choices[0]?.message.role, 'assistant');
    assert.equal(bounded.usage?.completion_tokens, 12);
    assert.equal(bounded.usage?.total_tokens, (bounded.usage?.prompt_tokens ?? 0) + 12);
    const free = await client.chat.completions.create({ model: MODEL, messages });
    assert.equal(free.choices[0]?.finish_reason, 'stop', 'no max_tokens: the model stops on its own');
    assert.notEqual(free.id, bounded.id);
  });

  test('chat stream with include_usage: role delta first, finish_reason, a usage chunk; the SDK stream helper assembles it', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 30,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const first = chunks[0];
    assert.equal(first?.choices[0]?.delta.role, 'assistant');
    assert.ok(
      chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === first?.id && c.model === MODEL),
    );
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(
      finishing.map((c) => c.choices[0]?.finish_reason),
      ['length'],
    );
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 30);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text.split('tok ').length - 1, 30);

    const helper = client.chat.completions.stream({
      model: MODEL,
      messages,
      max_tokens: 8,
      stream_options: { include_usage: true },
    });
    const final = await helper.finalChatCompletion();
    assert.equal(final.choices[0]?.message.role, 'assistant');
    assert.equal(final.choices[0]?.finish_reason, 'length');
    assert.equal(final.usage?.completion_tokens, 8);
  });

  test('chat stream without include_usage carries no usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 5,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.usage === undefined && c.choices.length === 1));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
  });

  test('legacy completions, plain and streamed with include_usage: text_completion throughout', async () => {
    const plain = await client.completions.create({ model: MODEL, prompt: 'def fib(n):', max_tokens: 7 });
    assert.match(plain.id, /^cmpl-/);
    assert.equal(plain.object, 'text_completion');
    assert.equal(plain.model, MODEL);
    assert.equal(plain.choices[0]?.finish_reason, 'length');
    assert.equal(plain.usage?.completion_tokens, 7);
    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'def fib(n):',
      max_tokens: 9,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.object === 'text_completion' && c.id.startsWith('cmpl-')));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id per completion');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason === 'length').length, 1);
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 9);
    assert.deepEqual(chunks.at(-1)?.choices, []);
  });

  test('bad requests are SDK errors with the OpenAI error body', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'unknown-model', messages }),
      (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
    );
    await assert.rejects(
      // A body without `model`: answered 400 by ext_proc before any replica sees it.
      client.post('/chat/completions', { body: { messages } }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && typeof err.message === 'string',
    );
  });
});

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

describe('a multi-agent session through the SDK', { skip }, () => {
  let nats: TestNatsServer;
  let rig: Rig;
  before(async () => {
    nats = await TestNatsServer.start();
    rig = await startRig(
      {
        profiler: { admin: '127.0.0.1:0', session_idle_s: 1, end_grace_s: 0.1, rebuild_interval_s: 0.2 },
      },
      nats,
    );
  });
  after(async () => {
    await rig?.stop();
    await nats?.stop();
  });

  /** planner -> two explorers in parallel -> writer, one SDK client per agent, streamed with usage. */
  async function session(id: string): Promise<void> {
    const agent = (name: string, last = false) =>
      sdk(rig, {
        'x-pythia-workflow': 'triage',
        'x-pythia-session': id,
        'x-pythia-agent': name,
        ...(last ? { 'x-pythia-session-end': 'true' } : {}),
      });
    const ask = async (client: OpenAI, outputTokens: number) => {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: outputTokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) void chunk;
    };
    await ask(agent('planner'), 20);
    await Promise.all([ask(agent('explorer'), 10), ask(agent('explorer'), 12)]);
    await ask(agent('writer', true), 30);
  }

  test('the replica receives each agent call annotated with the learned model', async () => {
    for (let i = 0; i < 3; i++) await session(`learn-${i}`);
    // The profiler may publish a model built from the first sessions before the last one is
    // in; wait for the one that holds all three, or the assertions below race its rebuild.
    await waitFor(
      'a triage model of all three sessions at ext-proc',
      () => (rig.stack.extProc.models.get('triage')?.model.sessions ?? 0) >= 3,
    );
    rig.upstream.length = 0;
    await session('observed');
    const byAgent = (agent: string) => rig.upstream.filter((h) => h['x-pythia-agent'] === agent);
    const [planner] = byAgent('planner');
    assert.equal(planner?.['x-pythia-mode'], 'shadow', 'a new workflow is learned in shadow mode first');
    assert.match(String(planner?.['x-pythia-next-agents']), /^explorer=1(\.0+)?\b/);
    assert.ok(Number(planner?.['x-pythia-predicted-output-tokens']) >= 20);
    const explorers = byAgent('explorer');
    assert.equal(explorers.length, 2);
    for (const e of explorers) assert.equal(e['x-pythia-mode'], 'shadow');
    const [writer] = byAgent('writer');
    assert.equal(writer?.['x-pythia-session-end'], 'true');
    assert.equal(writer?.['x-pythia-cluster'], 'llama-8b');
    assert.ok(!('x-pythia-priority' in (planner ?? {})), 'no priority while the workflow is in shadow');
  });
});
