// The Envoy edge's reading of a routing decision: which headers, in which order, with which
// values; the load-balancer metadata; and the body with the engine's priority field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeaderValueOption } from '../../common/src/envoy/ext-proc-messages.js';
import { decisionBody, decisionHeaders, lbMetadata } from '../src/core/envoy/decision-mutation.js';
import { bodyWithPriority } from '../src/core/envoy/priority-body.js';
import type { RouteDecision } from '../src/core/routing/route-decision.js';

const plain: RouteDecision = {
  pool: 'pool-a',
  endpoint: '10.0.0.1:8000',
  fallbacks: ['10.0.0.2:8000', '10.0.0.3:8000'],
  profile: 'least-request',
  priority: null,
  enginePriority: null,
  prediction: null,
  retention: null,
};
const proactive: RouteDecision = {
  ...plain,
  profile: 'pythia',
  priority: 12,
  enginePriority: 12,
  prediction: {
    mode: 'proactive',
    outputBound: 640,
    nextAgents: [
      { role: 'explorer', probability: 0.75 },
      { role: 'engineer', probability: 0.2 },
      { role: 'reviewer', probability: 0.04 },
      { role: 'verifier', probability: 0.01 },
    ],
  },
};

const pairs = (headers: HeaderValueOption[]) =>
  headers.map((h) => {
    assert.ok(Buffer.isBuffer(h.header.raw_value), 'raw_value is bytes');
    assert.equal(h.header.value, undefined, 'value stays unset (Envoy rejects both)');
    assert.deepEqual(h.append, { value: false }, 'replaces any upstream copy');
    return [h.header.key, h.header.raw_value?.toString('latin1')];
  });

test('without a prediction only the cluster and the destination are set', () => {
  assert.deepEqual(pairs(decisionHeaders(plain)), [
    ['x-pythia-cluster', 'pool-a'],
    ['x-gateway-destination-endpoint', '10.0.0.1:8000'],
  ]);
});

test('a proactive decision adds mode, output bound, the three likeliest next agents and priority', () => {
  assert.deepEqual(pairs(decisionHeaders(proactive)), [
    ['x-pythia-cluster', 'pool-a'],
    ['x-gateway-destination-endpoint', '10.0.0.1:8000'],
    ['x-pythia-mode', 'proactive'],
    ['x-pythia-predicted-output-tokens', '640'],
    ['x-pythia-next-agents', 'explorer=0.75,engineer=0.20,reviewer=0.04'],
    ['x-pythia-priority', '12'],
  ]);
});

test('a shadow prediction without bound or next agents still says its mode, and nothing else', () => {
  const shadow: RouteDecision = {
    ...plain,
    prediction: { mode: 'shadow', outputBound: null, nextAgents: [] },
  };
  assert.deepEqual(pairs(decisionHeaders(shadow)).slice(2), [['x-pythia-mode', 'shadow']]);
});

test('priority 0 (most urgent) is written, not mistaken for none', () => {
  const urgent: RouteDecision = { ...plain, priority: 0, enginePriority: 0 };
  assert.deepEqual(pairs(decisionHeaders(urgent)).at(-1), ['x-pythia-priority', '0']);
  const body = Buffer.from('{"model":"m"}');
  assert.equal(decisionBody(urgent, body, { model: 'm' })?.toString(), '{"priority":0,"model":"m"}');
});

test('the envoy.lb metadata lists the endpoint, then the fallbacks', () => {
  assert.deepEqual(lbMetadata(proactive), {
    fields: {
      'envoy.lb': {
        structValue: {
          fields: {
            'x-gateway-destination-endpoint': { stringValue: '10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000' },
          },
        },
      },
    },
  });
});

test('the body is rewritten only when the decision carries an engine priority', () => {
  const body = Buffer.from('{"model":"m","messages":[]}');
  const json = JSON.parse(body.toString()) as Record<string, unknown>;
  assert.equal(decisionBody(plain, body, json), null);
  // The header priority alone (a pool without the field) leaves the body alone.
  assert.equal(decisionBody({ ...plain, priority: 30 }, body, json), null);
  assert.equal(
    decisionBody({ ...plain, enginePriority: 50 }, body, json)?.toString(),
    '{"priority":50,"model":"m","messages":[]}',
  );
});

test('the body gets the field spliced in, or replaced when the client sent one', () => {
  const body = Buffer.from('{"model":"m","messages":[]}');
  const spliced = bodyWithPriority(body, JSON.parse(body.toString()), 7);
  assert.equal(spliced.toString(), '{"priority":7,"model":"m","messages":[]}');
  const spoofed = Buffer.from('{"model":"m","priority":-100}');
  assert.deepEqual(JSON.parse(bodyWithPriority(spoofed, JSON.parse(spoofed.toString()), 7).toString()), {
    model: 'm',
    priority: 7,
  });
});

test("a retention hint goes into the body as Dynamo's nvext.session_control, beside the priority", () => {
  const body = Buffer.from('{"model":"m","priority":3}');
  const json = JSON.parse(body.toString()) as Record<string, unknown>;
  const keep = decisionBody(
    { ...plain, enginePriority: 9, retention: { key: 's1', ttlMs: 6250 } },
    body,
    json,
  );
  assert.deepEqual(JSON.parse(keep?.toString() ?? ''), {
    nvext: { session_control: { session_id: 's1', timeout: 6.3 } },
    model: 'm',
    priority: 9,
  });
  const close = decisionBody({ ...plain, retention: { key: 's1', ttlMs: 0 } }, body, json);
  assert.deepEqual(JSON.parse(close?.toString() ?? '').nvext, {
    session_control: { session_id: 's1', action: 'close' },
  });
});

test("a client's own nvext is left as it is (no retention hint over it)", () => {
  const body = Buffer.from('{"model":"m","nvext":{"agent_hints":{"priority":1}}}');
  const json = JSON.parse(body.toString()) as Record<string, unknown>;
  assert.equal(decisionBody({ ...plain, retention: { key: 's1', ttlMs: 5000 } }, body, json), null);
  assert.equal(
    decisionBody(
      { ...plain, enginePriority: 4, retention: { key: 's1', ttlMs: 5000 } },
      body,
      json,
    )?.toString(),
    '{"priority":4,"model":"m","nvext":{"agent_hints":{"priority":1}}}',
  );
});
