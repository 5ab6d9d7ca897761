// A client's x-request-id names its request in logs and traces, but clients repeat ids (a
// constant, a retry, another client's): every exchange gets its own id from ext-proc, and
// the trace and start of a request carry it, so the profiler and the autoscaler never fold
// two requests into one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeaderValue } from '../../common/src/envoy/ext-proc-messages.js';
import { traceDedupeId } from '../../core/src/wire/trace.js';
import { StreamProcessor } from '../src/core/envoy/stream-processor.js';
import { capturedCore } from './support/captured-core.js';

const hv = (pairs: Array<[string, string]>): HeaderValue[] =>
  pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));

test('requests that repeat one x-request-id are distinct exchanges in their traces and starts', () => {
  const { clock, traces, starts, core, settings, metrics } = capturedCore();
  let ids = 0;
  const exchange = (agent: string, requestId: string | null) => {
    const p = new StreamProcessor(settings, core.router, metrics, clock, () => `px-test-${ids++}`);
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':path', '/v1/chat/completions'],
      ['x-pythia-workflow', 'coding'],
      ['x-pythia-session', 's1'],
      ['x-pythia-agent', agent],
      ...(requestId === null ? [] : ([['x-request-id', requestId]] as Array<[string, string]>)),
    ];
    p.handle({ request_headers: { headers: { headers: hv(headers) } } });
    const body = { model: 'm', messages: [{ role: 'user', content: `step of ${agent}` }] };
    p.handle({ request_body: { body: Buffer.from(JSON.stringify(body)), end_of_stream: true } });
    clock.advance(10);
    p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
    p.handle({ response_body: { body: Buffer.from('{"choices":[]}'), end_of_stream: true } });
    p.close();
  };
  for (const agent of ['planner', 'coder', 'coder']) exchange(agent, 'same-id');
  exchange('reviewer', null);
  assert.deepEqual(
    traces.map((t) => [t.requestId, t.exchange]),
    [
      ['same-id', 'px-test-0'],
      ['same-id', 'px-test-1'],
      ['same-id', 'px-test-2'],
      ['px-test-3', 'px-test-3'],
    ],
    "the client's id names the request; the exchange id is ext-proc's own",
  );
  assert.equal(new Set(traces.map(traceDedupeId)).size, 4, 'four traces, none a redelivery of another');
  assert.deepEqual(
    starts.map((s) => s.exchange),
    traces.map((t) => t.exchange),
    "a request's start carries its trace's exchange id",
  );
});
