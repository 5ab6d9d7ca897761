// The protocol state machine alone: fake router and clock, plain message objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoReadyEndpointError } from '../../core/src/errors.js';
import type { HeaderValue, ProcessingRequest } from '../../common/src/envoy/ext-proc-messages.js';
import {
  type ExtProcSettings,
  type StreamEvents,
  StreamProcessor,
} from '../src/core/envoy/stream-processor.js';
import { type BodyBudget, SharedBodyBudget } from '../src/core/envoy/stream-hygiene.js';
import type { CompletedRequest } from '../src/core/routing/completed-request.js';
import type { RequestRouter, RouteDecision } from '../src/core/routing/route-decision.js';
import type { RouteInput } from '../src/core/routing/route-input.js';

const settings: ExtProcSettings = {
  headerNames: {
    workflow: 'x-pythia-workflow',
    session: 'x-pythia-session',
    agent: 'x-pythia-agent',
    sessionEnd: 'x-pythia-session-end',
  },
  maxIdentifierLength: 64,
  maxBodyBytes: 1024,
  llmPaths: new Set(['/v1/chat/completions']),
  defaultRequestBodyMode: 'BUFFERED',
  streamedChunkBytes: 16,
  maxResponseScanBytes: 4096,
  maxCapturedOutputChars: 0,
  maxOutputTokens: new Map([['p', 1000]]),
  tenantHeader: null,
  heldMessageTimeoutMs: 0,
};

class FakeRouter implements RequestRouter {
  inputs: RouteInput[] = [];
  completed: CompletedRequest[] = [];
  fail = false;
  enginePriority: number | null = null;
  route(input: RouteInput): RouteDecision {
    this.inputs.push(input);
    if (this.fail) throw new NoReadyEndpointError('p');
    return {
      pool: 'p',
      endpoint: '127.0.0.1:80',
      fallbacks: ['127.0.0.2:80'],
      profile: 'test',
      priority: null,
      enginePriority: this.enginePriority,
      prediction: { mode: 'shadow', outputBound: 50, nextAgents: [{ role: 'coder', probability: 0.9 }] },
      retention: null,
    };
  }
  complete(_d: RouteDecision, _i: RouteInput, outcome: CompletedRequest): void {
    this.completed.push(outcome);
  }
}

const noEvents: StreamEvents = {
  spoofedHeader() {},
  invalidIdentifier() {},
  passThrough() {},
  decided() {},
  rejected() {},
  completed() {},
  outOfOrder() {},
};

function setup(budget?: BodyBudget, overrides: Partial<ExtProcSettings> = {}) {
  let now = 1000;
  const router = new FakeRouter();
  const clock = { now: () => now, wallNow: () => 1_700_000_000_000 + now };
  let ids = 0;
  const outOfOrder: string[] = [];
  const events: StreamEvents = { ...noEvents, outOfOrder: (kind) => outOfOrder.push(kind) };
  const p = new StreamProcessor(
    { ...settings, ...overrides },
    router,
    events,
    clock,
    () => `test-${++ids}`,
    budget,
  );
  return { p, router, outOfOrder, advance: (ms: number) => (now += ms) };
}

const hv = (pairs: Array<[string, string]>): HeaderValue[] =>
  pairs.map(([key, v]) => ({ key, raw_value: Buffer.from(v) }));
const reqHeaders = (extra: Array<[string, string]> = [], end = false): ProcessingRequest => ({
  request_headers: {
    headers: {
      headers: hv([
        [':method', 'POST'],
        [':path', '/v1/chat/completions'],
        ['x-pythia-workflow', 'coding'],
        ['x-pythia-session', 's1'],
        ['x-pythia-agent', 'planner'],
        ...extra,
      ]),
    },
    end_of_stream: end,
  },
});
const body = Buffer.from(
  JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello there, planner' }] }),
);

test('BUFFERED: the body answer carries the routing mutation, annotations and metadata', () => {
  const { p, router } = setup();
  assert.deepEqual(p.handle(reqHeaders()), [{ request_headers: { response: {} } }]);
  const [answer] = p.handle({ request_body: { body, end_of_stream: true } });
  const common = answer?.request_body?.response;
  const keys = common?.header_mutation?.set_headers?.map((h) => h.header.key);
  assert.deepEqual(keys, [
    'x-pythia-cluster',
    'x-gateway-destination-endpoint',
    'x-pythia-mode',
    'x-pythia-predicted-output-tokens',
    'x-pythia-next-agents',
  ]);
  assert.equal(common?.body_mutation, undefined, 'no engine priority: the body stays');
  for (const h of common?.header_mutation?.set_headers ?? []) {
    assert.ok(Buffer.isBuffer(h.header.raw_value), 'raw_value is bytes');
    assert.equal(h.header.value, undefined, 'value stays unset');
  }
  assert.equal(common?.clear_route_cache, true);
  const lb =
    answer?.dynamic_metadata?.fields['envoy.lb']?.structValue?.fields['x-gateway-destination-endpoint'];
  assert.equal(lb?.stringValue, '127.0.0.1:80,127.0.0.2:80');
  assert.deepEqual(router.inputs[0]?.identity, { workflow: 'coding', session: 's1', agent: 'planner' });
  assert.equal(p.finished, false, 'the response is still to come');
});

test('a BUFFERED body in several messages is answered per message and routed at the end', () => {
  const { p } = setup();
  p.handle(reqHeaders());
  assert.deepEqual(p.handle({ request_body: { body: body.subarray(0, 10), end_of_stream: false } }), [
    { request_body: { response: {} } },
  ]);
  const [answer] = p.handle({ request_body: { body: body.subarray(10), end_of_stream: true } });
  assert.ok(answer?.request_body?.response?.header_mutation);
});

test('FULL_DUPLEX_STREAMED with trailers: headers answer, body chunks, then the trailers answer', () => {
  const { p } = setup();
  const first = { ...reqHeaders(), protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED' as const } };
  assert.deepEqual(p.handle(first), []);
  assert.deepEqual(p.handle({ request_body: { body, end_of_stream: false } }), []);
  const answers = p.handle({ request_trailers: {} });
  assert.ok(answers[0]?.request_headers?.response?.header_mutation);
  const chunks = answers.slice(1, -1).map((a) => a.request_body?.response?.body_mutation?.streamed_response);
  assert.equal(Buffer.concat(chunks.map((c) => c?.body ?? Buffer.alloc(0))).toString(), body.toString());
  assert.ok(
    chunks.every((c) => c?.end_of_stream === false),
    'trailers follow, so no chunk ends the stream',
  );
  assert.equal(chunks.length, Math.ceil(body.length / 16));
  assert.deepEqual(answers.at(-1), { request_trailers: {} });
});

test('completion: timings, usage and status reach the router once; the exchange is then finished', () => {
  const { p, router, advance } = setup();
  p.handle(reqHeaders([['x-pythia-session-end', 'true']]));
  p.handle({ request_body: { body, end_of_stream: true } });
  advance(40);
  p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
  advance(10);
  p.handle({ response_body: { body: Buffer.from('data: {"choices":[{"delta":{"content":"abcd"}}]}\n\n') } });
  advance(50);
  p.handle({
    response_body: {
      body: Buffer.from('data: {"usage":{"completion_tokens":5,"prompt_tokens":9}}\n\n'),
      end_of_stream: true,
    },
  });
  assert.equal(p.finished, true);
  p.close();
  assert.equal(router.completed.length, 1);
  const r = router.completed[0] as CompletedRequest;
  assert.equal(r.status, 'OK');
  assert.equal(r.queueMs, 40);
  assert.equal(r.firstTokenMs, 50);
  assert.equal(r.totalMs, 100);
  assert.equal(r.usage.outputTokens, 5);
  assert.equal(r.sessionEnd, true);
  assert.equal(r.predictedAgent, 'coder');
  assert.equal(r.predictedOutputTokens, 50);
  assert.equal(r.mode, 'shadow');
  assert.equal(r.startUnixMs, 1_700_000_001_000);
  assert.equal(r.endUnixMs, 1_700_000_001_100);
  assert.equal(r.requestId, 'test-1', 'no x-request-id: one from the injected source');
});

test('request ids: a safe x-request-id is kept, anything else comes from the injected source', () => {
  const { p, router } = setup();
  p.handle(reqHeaders([['x-request-id', '8c0f7a6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f']]));
  p.handle({ request_body: { body, end_of_stream: true } });
  assert.equal(router.inputs[0]?.requestId, '8c0f7a6e-1d2b-4c3a-9e8f-0a1b2c3d4e5f');
  const q = setup();
  q.p.handle(reqHeaders([['x-request-id', 'has spaces; and "quotes"']]));
  assert.equal(q.p.id, 'test-1');
  const r = setup();
  r.p.handle(reqHeaders([['x-request-id', 'x'.repeat(129)]]));
  assert.equal(r.p.id, 'test-1');
});

test('an engine priority rewrites the BUFFERED body and its content-length', () => {
  const { p, router } = setup();
  router.enginePriority = 7;
  p.handle(reqHeaders());
  const [answer] = p.handle({ request_body: { body, end_of_stream: true } });
  const common = answer?.request_body?.response;
  const sent = common?.body_mutation?.body ?? Buffer.alloc(0);
  assert.equal(common?.body_mutation?.mutation, 'body');
  assert.deepEqual(JSON.parse(sent.toString()), { priority: 7, ...JSON.parse(body.toString()) });
  const length = common?.header_mutation?.set_headers?.find((h) => h.header.key === 'content-length');
  assert.equal(length?.header.raw_value?.toString(), String(sent.length));
});

test('an engine priority rewrites the FULL_DUPLEX_STREAMED body as it is streamed back', () => {
  const { p, router } = setup();
  router.enginePriority = 7;
  p.handle({ ...reqHeaders(), protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED' as const } });
  const answers = p.handle({ request_body: { body, end_of_stream: true } });
  const keys = answers[0]?.request_headers?.response?.header_mutation?.set_headers?.map((h) => h.header.key);
  assert.equal(keys?.includes('content-length'), false, 'streamed: no content-length');
  const chunks = answers.slice(1).map((a) => a.request_body?.response?.body_mutation?.streamed_response);
  const sent = Buffer.concat(chunks.map((c) => c?.body ?? Buffer.alloc(0)));
  assert.equal(sent.toString(), `{"priority":7,${body.toString().slice(1)}`);
  assert.equal(chunks.at(-1)?.end_of_stream, true);
});

test('upstream errors and cancellations are recorded as such', () => {
  const a = setup();
  a.p.handle(reqHeaders());
  a.p.handle({ request_body: { body, end_of_stream: true } });
  a.p.handle({ response_headers: { headers: { headers: hv([[':status', '503']]) }, end_of_stream: true } });
  assert.equal(a.router.completed[0]?.status, 'UPSTREAM_ERROR');
  const b = setup();
  b.p.handle(reqHeaders());
  b.p.handle({ request_body: { body, end_of_stream: true } });
  b.p.close();
  b.p.close();
  assert.equal(b.router.completed.length, 1);
  assert.equal(b.router.completed[0]?.status, 'CANCELLED');
});

test('rejections are immediate responses and finish the exchange', () => {
  const { p, router } = setup();
  router.fail = true;
  p.handle(reqHeaders());
  const [answer] = p.handle({ request_body: { body, end_of_stream: true } });
  assert.equal(answer?.immediate_response?.status.code, 503);
  assert.equal(p.finished, true);
  p.close();
  assert.equal(router.completed.length, 0, 'nothing was routed, nothing to complete');
});

test('observability mode: state is tracked, nothing is answered', () => {
  const { p, router } = setup();
  assert.deepEqual(p.handle({ ...reqHeaders(), observability_mode: true }), []);
  assert.deepEqual(p.handle({ request_body: { body, end_of_stream: true }, observability_mode: true }), []);
  assert.equal(router.inputs.length, 1);
});

test('a pass-through request finishes after its headers answer (BUFFERED)', () => {
  const { p } = setup();
  const [answer] = p.handle({
    request_headers: {
      headers: {
        headers: hv([
          [':method', 'GET'],
          [':path', '/v1/models'],
        ]),
      },
    },
  });
  assert.deepEqual(answer?.mode_override, {
    request_body_mode: 'NONE',
    response_header_mode: 'SKIP',
    response_body_mode: 'NONE',
  });
  assert.equal(p.finished, true);
});

test('a second request_headers on one stream is answered plainly and neither routed nor leaked', () => {
  const { p, router, outOfOrder } = setup();
  p.handle(reqHeaders());
  p.handle({ request_body: { body, end_of_stream: true } });
  assert.deepEqual(p.handle(reqHeaders()), [{ request_headers: { response: {} } }]);
  // Its body is echoed as any body Envoy sends past the routing answer.
  assert.deepEqual(p.handle({ request_body: { body, end_of_stream: true } }), [
    { request_body: { response: {} } },
  ]);
  p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) }, end_of_stream: true } });
  p.close();
  assert.equal(router.inputs.length, 1, 'routed once: one reservation');
  assert.equal(router.completed.length, 1, 'and that one released');
  assert.deepEqual(outOfOrder, ['request_headers']);
});

test('a response cut short after a 200 is recorded as cancelled, not OK', () => {
  const streamed = { request_body_mode: 'BUFFERED' as const, response_body_mode: 'STREAMED' as const };
  const cut = setup();
  cut.p.handle({ ...reqHeaders(), protocol_config: streamed });
  cut.p.handle({ request_body: { body, end_of_stream: true } });
  cut.p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
  cut.p.handle({
    response_body: { body: Buffer.from('data: {"choices":[{"delta":{"content":"ab"}}]}\n\n') },
  });
  cut.p.close();
  assert.equal(cut.router.completed[0]?.status, 'CANCELLED');
  // Cut before any body byte, the body announced: cancelled too.
  const early = setup();
  early.p.handle({ ...reqHeaders(), protocol_config: streamed });
  early.p.handle({ request_body: { body, end_of_stream: true } });
  early.p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
  early.p.close();
  assert.equal(early.router.completed[0]?.status, 'CANCELLED');
  // Response body mode NONE: Envoy never sends the body, so the close is the normal end.
  const none = setup();
  none.p.handle({ ...reqHeaders(), protocol_config: { ...streamed, response_body_mode: 'NONE' } });
  none.p.handle({ request_body: { body, end_of_stream: true } });
  none.p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
  none.p.close();
  assert.equal(none.router.completed[0]?.status, 'OK');
});

test('output tokens are clamped to max_tokens and the pool limit; no count wraps', () => {
  const run = (request: Record<string, unknown>, usage: Record<string, unknown>) => {
    const { p, router } = setup();
    p.handle(reqHeaders());
    const json = { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...request };
    p.handle({ request_body: { body: Buffer.from(JSON.stringify(json)), end_of_stream: true } });
    p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
    const line = `data: ${JSON.stringify({ usage })}\n\n`;
    p.handle({ response_body: { body: Buffer.from(line), end_of_stream: true } });
    return router.completed[0]?.usage;
  };
  const forged = {
    completion_tokens: 2 ** 32 + 5,
    prompt_tokens: 2 ** 40,
    prompt_tokens_details: { cached_tokens: 2 ** 41 },
  };
  assert.equal(run({ max_tokens: 100 }, forged)?.outputTokens, 100, "the request's max_tokens");
  const byPool = run({}, forged);
  assert.equal(byPool?.outputTokens, 1000, "the pool's max_output_tokens");
  assert.equal(byPool?.promptTokens, 0x7fffffff, 'below the 32-bit wire bound');
  assert.equal(byPool?.cachedTokens, 0x7fffffff, 'at most the prompt');
  assert.equal(run({ max_tokens: 100 }, { completion_tokens: 42 })?.outputTokens, 42, 'honest counts stay');
});

test('the shared body budget: past it a request is answered 503, and a closed stream gives its bytes back', () => {
  const budget = new SharedBodyBudget(body.length + 10);
  const duplex = { request_body_mode: 'FULL_DUPLEX_STREAMED' as const };
  const a = setup(budget);
  a.p.handle({ ...reqHeaders(), protocol_config: duplex });
  assert.deepEqual(a.p.handle({ request_body: { body, end_of_stream: false } }), []);
  const b = setup(budget);
  b.p.handle({ ...reqHeaders(), protocol_config: duplex });
  const [refused] = b.p.handle({ request_body: { body, end_of_stream: false } });
  assert.equal(refused?.immediate_response?.status.code, 503);
  assert.equal(budget.bytes, body.length, 'the refused stream holds nothing');
  a.p.close();
  assert.equal(budget.bytes, 0);
  const c = setup(budget);
  c.p.handle(reqHeaders());
  const [routed] = c.p.handle({ request_body: { body, end_of_stream: true } });
  assert.ok(routed?.request_body?.response?.header_mutation, 'room again once the first stream closed');
  assert.equal(budget.bytes, 0, 'a routed body is released at once');
});

test('a 100k-deep body with its own priority key gets ours without re-serialising (no 400)', () => {
  const { p, router } = setup(undefined, { maxBodyBytes: 1024 * 1024 });
  router.enginePriority = 7;
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const deepBody = Buffer.from(
    `{"model":"m","messages":[{"role":"user","content":"hi"}],"priority":-100,"extra":${deep}} \n`,
  );
  p.handle(reqHeaders());
  const [answer] = p.handle({ request_body: { body: deepBody, end_of_stream: true } });
  assert.equal(answer?.immediate_response, undefined, 'routed, not rejected');
  const sent = answer?.request_body?.response?.body_mutation?.body ?? Buffer.alloc(0);
  assert.equal((JSON.parse(sent.toString()) as { priority: number }).priority, 7, 'the last duplicate wins');
  assert.equal(sent.length, deepBody.length + ',"priority":7'.length);
});

test('out-of-order messages get the answer of their kind, change nothing, and are counted', () => {
  const { p, router, outOfOrder } = setup();
  assert.deepEqual(p.handle({ request_body: { body, end_of_stream: true } }), [
    { request_body: { response: {} } },
  ]);
  p.handle(reqHeaders());
  p.handle({ request_body: { body, end_of_stream: true } });
  p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
  assert.deepEqual(p.handle({ response_headers: { headers: { headers: hv([[':status', '500']]) } } }), [
    { response_headers: { response: {} } },
  ]);
  p.handle({ response_body: { body: Buffer.from('data: [DONE]\n\n'), end_of_stream: true } });
  assert.equal(router.inputs.length, 1);
  assert.equal(router.completed[0]?.status, 'OK', 'the first status stands');
  assert.deepEqual(outOfOrder, ['request_body', 'response_headers']);
});
