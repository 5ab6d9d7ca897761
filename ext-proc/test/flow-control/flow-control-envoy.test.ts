// Flow control through the real ext_proc service and the Envoy-faithful client: a request
// held while every endpoint is saturated (Envoy's timer restarted with
// override_message_timeout in BUFFERED mode) and released when one frees up, a request whose
// client goes away while held, the 429 past the queue's bounds, and FULL_DUPLEX_STREAMED.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getHeader } from '../../../test-support/src/header-mutation.js';
import { waitFor } from '../../../test-support/src/wait-for.js';
import {
  type Harness,
  chatBody,
  chatHeaders,
  metricsText,
  startHarness,
  testConfig,
} from '../support/harness.js';

const ENDPOINTS = ['127.0.0.11:8000', '127.0.0.12:8000'];

function flowConfig(flow: Record<string, unknown> = {}) {
  return testConfig({
    scheduler: {
      scrape_interval_ms: 0,
      levers: { warming: false },
      // A single waiting request saturates here (the default waits for 8): the tests set it.
      flow_control: { enabled: true, queue_ttl_s: 30, saturation: { waiting_requests: 1 }, ...flow },
    },
  });
}

function saturate(h: Harness, waiting: number): void {
  for (const address of ENDPOINTS) {
    const ep = h.service.cluster.endpoint(address);
    assert.ok(ep);
    ep.waiting = waiting;
  }
}

async function held(h: Harness, n: number): Promise<void> {
  await waitFor(`${n} held request(s)`, async () =>
    (await metricsText(h.service)).includes(
      `pythia_ext_proc_flow_queued_requests{pool="llama-8b",workflow="none"} ${n}`,
    ),
  );
}

describe('flow control through Envoy (BUFFERED)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(flowConfig({ max_queued_requests: 1 }), { maxMessageTimeoutMs: 31_000 });
  });
  after(async () => h.stop());

  it("holds a request while every endpoint is saturated, restarts Envoy's timer, releases it when a request ends", async () => {
    // A routes at once and stays in flight.
    const a = h.client.open();
    const first = await a.processRequest(chatHeaders(), [chatBody()]);
    assert.equal(first.kind, 'continue');
    saturate(h, 3);
    // B is held: the filter's message timer would fail it open without the override, which
    // restarts it (within the filter's max_message_timeout: applied).
    const b = h.client.open({ messageTimeoutMs: 2000 });
    const pending = b.processRequest(chatHeaders([['x-request-id', 'held-b']]), [chatBody()]);
    await held(h, 1);
    await waitFor('the timer override', () => b.timerOverrides.length > 0);
    assert.deepEqual(b.timerOverrides, [{ ms: 31_000, applied: true }]);
    // An endpoint frees up; A ends: B goes.
    saturate(h, 0);
    await a.processResponseHeaders(200, [['content-type', 'application/json']], true);
    a.close();
    const out = await pending;
    b.close();
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(out.failedOpen, null);
    const endpoint = getHeader(out.headers, 'x-gateway-destination-endpoint');
    assert.ok(endpoint && ENDPOINTS.includes(endpoint), `endpoint ${endpoint}`);
    assert.equal(out.routeCleared, true);
    const text = await metricsText(h.service);
    assert.match(
      text,
      /pythia_ext_proc_flow_releases_total\{pool="llama-8b",reason="(preferred|equivalent)"\} 1/,
    );
    assert.match(text, /pythia_ext_proc_flow_queued_requests\{pool="llama-8b",workflow="none"\} 0/);
  });

  it('answers 429 with OpenAI error JSON and retry-after past the queue bound', async () => {
    saturate(h, 3);
    const holding = h.client.open();
    const pending = holding.processRequest(chatHeaders(), [chatBody()]);
    await held(h, 1);
    const shed = await h.client.processRequest(chatHeaders(), chatBody());
    assert.equal(shed.kind, 'local_reply');
    if (shed.kind !== 'local_reply') return;
    assert.equal(shed.status, 429);
    assert.equal(getHeader(shed.headers, 'retry-after'), '2');
    const body = JSON.parse(shed.body.toString()) as {
      error: { type: string; code: string; message: string };
    };
    assert.equal(body.error.code, 'rate_limit_exceeded');
    assert.equal(body.error.type, 'requests');
    assert.match(
      await metricsText(h.service),
      /pythia_ext_proc_flow_shed_total\{pool="llama-8b",reason="queue_full"\} 1/,
    );
    // The client of the held one goes away: it leaves the queue at once.
    holding.close();
    await held(h, 0);
    assert.match(await metricsText(h.service), /pythia_ext_proc_flow_cancelled_total\{pool="llama-8b"\} 1/);
    const out = await pending;
    // Envoy's client reset: the exchange ends without an answer to the body.
    assert.notEqual(out.kind === 'continue' && out.failedOpen === null, true);
    saturate(h, 0);
  });

  it("ignores a timer extension beyond the filter's max_message_timeout (Envoy's rule)", async () => {
    saturate(h, 3);
    // Past the filter's max_message_timeout (or with none set) Envoy ignores the override: the
    // running timer fires and, fail-closed, Envoy answers 504.
    const b = h.client.open({ messageTimeoutMs: 3000, maxMessageTimeoutMs: 1000, failureModeAllow: false });
    const out = await b.processRequest(chatHeaders(), [chatBody()]);
    b.close();
    assert.deepEqual(b.timerOverrides, [{ ms: 31_000, applied: false }]);
    assert.equal(out.kind, 'local_reply');
    if (out.kind === 'local_reply') assert.equal(out.status, 504);
    await held(h, 0);
    saturate(h, 0);
  });
});

describe('flow control through Envoy (FULL_DUPLEX_STREAMED)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(flowConfig({ queue_ttl_s: 1 }), { requestBodyMode: 'FULL_DUPLEX_STREAMED' });
  });
  after(async () => h.stop());

  it('holds without a timer message and sheds at the TTL with a 429', async () => {
    saturate(h, 3);
    const b = h.client.open();
    const out = await b.processRequest(chatHeaders(), [chatBody()]);
    b.close();
    assert.deepEqual(b.timerOverrides, []);
    assert.equal(out.kind, 'local_reply');
    if (out.kind !== 'local_reply') return;
    assert.equal(out.status, 429);
    assert.match(
      await metricsText(h.service),
      /pythia_ext_proc_flow_shed_total\{pool="llama-8b",reason="ttl"\} 1/,
    );
  });
});
