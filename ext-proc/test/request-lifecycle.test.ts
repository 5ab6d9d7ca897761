// The completed-request record both the stream processor and the bench's simulator build:
// timings from the injected clock, status from the response, the prediction in force, and
// exactly one report to the router.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnknownModelError } from '../../core/src/errors.js';
import type { CompletedRequest, UsageReport } from '../src/core/routing/completed-request.js';
import { NO_USAGE, RequestLifecycle } from '../src/core/routing/request-lifecycle.js';
import type { RequestRouter, RouteDecision } from '../src/core/routing/route-decision.js';
import type { RouteInput } from '../src/core/routing/route-input.js';

const EPOCH = 1_790_000_000_000;

const input: RouteInput = {
  llm: { api: 'chat', model: 'llama', stream: true, maxTokens: null, bodyBytes: 400, json: {} },
  identity: { workflow: 'coding', session: 's1', agent: 'planner' },
  requestId: 'r1',
  exchange: 'r1',
  sessionEnd: true,
};
const decision: RouteDecision = {
  pool: 'p',
  endpoint: '10.0.0.1:8000',
  fallbacks: [],
  profile: 'pythia',
  priority: 10,
  enginePriority: null,
  prediction: {
    mode: 'proactive',
    outputBound: 700,
    nextAgents: [
      { role: 'explorer', probability: 0.8 },
      { role: 'engineer', probability: 0.2 },
    ],
  },
  retention: null,
};
const usage: UsageReport = {
  outputTokens: 7,
  reported: true,
  promptTokens: 100,
  cachedTokens: 64,
  outputText: 'done',
};

class Recorder implements RequestRouter {
  readonly completed: Array<{ decision: RouteDecision; input: RouteInput; record: CompletedRequest }> = [];
  constructor(private readonly answer: RouteDecision | Error = decision) {}
  route(): RouteDecision {
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
  complete(d: RouteDecision, i: RouteInput, record: CompletedRequest): void {
    this.completed.push({ decision: d, input: i, record });
  }
}

function setup(answer?: RouteDecision | Error) {
  let now = 1000.25;
  let wall = EPOCH + now;
  const router = new Recorder(answer);
  const clock = { now: () => now, wallNow: () => wall };
  const lifecycle = new RequestLifecycle(router, clock);
  return {
    lifecycle,
    router,
    advance(ms: number) {
      now += ms;
      wall += ms;
    },
    stepWall(ms: number) {
      wall += ms;
    },
  };
}

test('a streamed request: queue, first token, total and wall times, usage and prediction', () => {
  const { lifecycle, router, advance } = setup();
  lifecycle.start();
  advance(2);
  assert.equal(lifecycle.route(input), decision);
  assert.equal(lifecycle.open, true);
  advance(38);
  lifecycle.responseStarted(200);
  advance(10.5);
  lifecycle.responseBytes();
  advance(20);
  lifecycle.responseBytes(); // later bytes do not move the first token
  advance(30);
  const record = lifecycle.end(usage);
  assert.deepEqual(record, {
    requestId: 'r1',
    exchange: 'r1',
    identity: { workflow: 'coding', session: 's1', agent: 'planner' },
    sessionEnd: true,
    model: 'llama',
    pool: 'p',
    endpoint: '10.0.0.1:8000',
    promptBytes: 400,
    usage,
    queueMs: 40,
    firstTokenMs: 50.5,
    totalMs: 100.5,
    startUnixMs: EPOCH + 1000.25,
    endUnixMs: EPOCH + 1100.75,
    status: 'OK',
    httpStatus: 200,
    predictedAgent: 'explorer',
    predictedOutputTokens: 700,
    mode: 'proactive',
  });
  assert.equal(router.completed.length, 1);
  assert.equal(router.completed[0]?.record, record);
  assert.equal(router.completed[0]?.decision, decision);
  assert.equal(router.completed[0]?.input, input);
  assert.equal(lifecycle.open, false);
  assert.equal(lifecycle.end(usage), null, 'a second end is ignored');
  assert.equal(lifecycle.cancel(usage), null);
  assert.equal(router.completed.length, 1, 'the router hears of it once');
});

test('without response headers or bytes, queue and first token are the whole duration', () => {
  const { lifecycle, advance } = setup();
  lifecycle.start();
  lifecycle.route(input);
  advance(25);
  const record = lifecycle.cancel(NO_USAGE);
  assert.equal(record?.status, 'CANCELLED');
  assert.equal(record?.httpStatus, 0);
  assert.equal(record?.queueMs, 25);
  assert.equal(record?.firstTokenMs, 25);
  assert.equal(record?.totalMs, 25);
  assert.deepEqual(record?.usage, NO_USAGE);
});

test('an HTTP error is an upstream error, whether the response ended or the stream was cut', () => {
  for (const close of ['end', 'cancel'] as const) {
    const { lifecycle } = setup();
    lifecycle.start();
    lifecycle.route(input);
    lifecycle.responseStarted(503);
    assert.equal(lifecycle[close](NO_USAGE)?.status, 'UPSTREAM_ERROR', close);
  }
  const ok = setup();
  ok.lifecycle.start();
  ok.lifecycle.route(input);
  ok.lifecycle.responseStarted(200);
  assert.equal(
    ok.lifecycle.cancel(NO_USAGE)?.status,
    'CANCELLED',
    'cut after a good response began: truncated, its length not to be learnt',
  );
});

test('the end wall time follows the monotonic clock, not a wall-clock step during the request', () => {
  const { lifecycle, advance, stepWall } = setup();
  lifecycle.start();
  lifecycle.route(input);
  advance(100);
  stepWall(-60_000); // NTP steps the wall clock back a minute
  const record = lifecycle.end(usage);
  assert.equal(record?.endUnixMs, EPOCH + 1100.25);
  assert.equal((record?.endUnixMs ?? 0) - (record?.startUnixMs ?? 0), record?.totalMs);
});

test('without a prediction the record says so with empty values', () => {
  const { lifecycle } = setup({ ...decision, prediction: null, priority: null });
  lifecycle.start();
  lifecycle.route(input);
  const record = lifecycle.end(usage);
  assert.equal(record?.predictedAgent, '');
  assert.equal(record?.predictedOutputTokens, 0);
  assert.equal(record?.mode, '');
});

test('a request the router refused, or never routed, yields no record and no completion', () => {
  const refused = setup(new UnknownModelError('nope'));
  refused.lifecycle.start();
  assert.throws(() => refused.lifecycle.route(input), UnknownModelError);
  assert.equal(refused.lifecycle.open, false);
  assert.equal(refused.lifecycle.input, null);
  assert.equal(refused.lifecycle.end(usage), null);
  assert.equal(refused.lifecycle.cancel(usage), null);
  assert.equal(refused.router.completed.length, 0);
  const never = setup();
  never.lifecycle.start();
  assert.equal(never.lifecycle.cancel(NO_USAGE), null);
  assert.equal(never.router.completed.length, 0);
});
