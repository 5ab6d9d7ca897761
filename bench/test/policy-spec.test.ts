import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PolicySpecError,
  formatPolicySpec,
  leverOn,
  parsePolicySpec,
  routingLabel,
} from '../src/runner/policy-spec.js';
import { flowControlConfig } from '../src/runner/run-policy.js';

test('every policy the bench scripts use parses and formats back to the same label', () => {
  for (const label of [
    'round-robin',
    'least-request',
    'prefix-aware',
    'session-affinity',
    'llm-d',
    'dynamo',
    'pythia',
    'pythia-no-placement',
    'pythia-no-priority',
    'pythia-no-warming',
    'least-request+reactive-autoscaler',
    'pythia+reactive-autoscaler:15',
    'pythia+reactive-autoscaler:120',
    'pythia+reactive-autoscaler',
    'pythia+autoscaler',
    'pythia-no-warming-no-priority+reactive-autoscaler:0',
    'pythia+reactive-autoscaler:2.5',
  ])
    assert.equal(formatPolicySpec(parsePolicySpec(label)), label);
});

test('a spec names the routing profile, the levers off and the scaling mode with its window', () => {
  assert.deepEqual(parsePolicySpec('least-request'), {
    routing: 'least-request',
    leversOff: [],
    scaling: { mode: 'fixed' },
  });
  assert.deepEqual(parsePolicySpec('pythia-no-warming-no-placement+reactive-autoscaler:60'), {
    routing: 'pythia',
    leversOff: ['warming', 'placement'],
    scaling: { mode: 'reactive', windowS: 60 },
  });
  assert.deepEqual(parsePolicySpec('pythia+reactive-autoscaler').scaling, { mode: 'reactive' });
  assert.deepEqual(parsePolicySpec('prefix-aware+autoscaler').scaling, { mode: 'forecast' });
  assert.equal(routingLabel(parsePolicySpec('pythia-no-priority+autoscaler')), 'pythia-no-priority');
});

test('levers are as configured by default for pythia unless switched, and always off for the baselines', () => {
  const ablation = parsePolicySpec('pythia-no-priority');
  assert.equal(leverOn(ablation, 'priority'), false);
  assert.equal(leverOn(ablation, 'placement'), true);
  assert.equal(leverOn(ablation, 'warming'), false, 'off by default (scheduler.levers.warming)');
  assert.equal(leverOn(parsePolicySpec('pythia-with-warming'), 'warming'), true);
  for (const lever of ['placement', 'priority', 'warming'] as const)
    assert.equal(leverOn(parsePolicySpec('session-affinity'), lever), false);
});

test('a bad spec is rejected with what is wrong in it', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /unknown routing profile ""/],
    ['fastest', /unknown routing profile "fastest" \(expected one of .*round-robin.*\)/],
    ['Pythia', /unknown routing profile "Pythia"/],
    ['pythia-no-speed', /unknown lever "speed" \(expected one of placement, priority, warming, retention\)/],
    ['pythia-no-', /unknown lever ""/],
    ['pythia-no-warming-no-warming', /lever "warming" switched off twice/],
    ['least-request-no-warming', /levers can only be switched off for pythia/],
    ['pythia+hpa', /unknown scaling "hpa"/],
    ['pythia+', /unknown scaling ""/],
    ['pythia+autoscaler:30', /unknown scaling "autoscaler:30"/],
    ['pythia+reactive-autoscaler:', /scale-down window "" is not/],
    ['pythia+reactive-autoscaler:abc', /scale-down window "abc" is not/],
    ['pythia+reactive-autoscaler:-5', /scale-down window "-5" is not/],
    ['pythia+reactive-autoscaler:015', /scale-down window "015" is not/],
    ['pythia+reactive-autoscaler:Infinity', /scale-down window "Infinity" is not/],
    ['pythia+autoscaler+reactive-autoscaler', /at most one "\+<scaling>" part/],
  ];
  for (const [spec, message] of bad) {
    assert.throws(
      () => parsePolicySpec(spec),
      (err: unknown) =>
        err instanceof PolicySpecError && message.test(err.message) && err.message.includes(`"${spec}"`),
      spec,
    );
  }
});

test('-with-<lever> switches on a lever that is off by default, after any -no-', () => {
  for (const label of ['pythia-with-warming', 'pythia-no-priority-with-warming+autoscaler'])
    assert.equal(formatPolicySpec(parsePolicySpec(label)), label);
  const on = parsePolicySpec('pythia-no-priority-with-warming');
  assert.equal(leverOn(on, 'warming'), true);
  assert.equal(leverOn(on, 'priority'), false);
  assert.equal(leverOn(parsePolicySpec('pythia-no-warming'), 'warming'), false);
  assert.throws(() => parsePolicySpec('pythia-with-warming-no-priority'), /after every "-no-<lever>"/);
  assert.throws(() => parsePolicySpec('pythia-no-warming-with-warming'), /switched both off and on/);
  assert.throws(() => parsePolicySpec('least-request-with-warming'), /only be switched off for pythia/);
});

test("@<order> turns flow control on; the peers' queue presets stand for routing and queue together", () => {
  const spec = parsePolicySpec('pythia-no-warming@oldest-session-first');
  assert.equal(spec.flow, 'oldest-session-first');
  assert.equal(formatPolicySpec(spec), 'pythia-no-warming@oldest-session-first');
  assert.deepEqual(flowControlConfig(spec), {
    enabled: true,
    policy: 'oldest-session-first',
    queue_ttl_s: 3000,
  });
  assert.deepEqual(flowControlConfig(parsePolicySpec('pythia')), { enabled: false });
  const llmd = parsePolicySpec('llm-d-flow');
  assert.equal(formatPolicySpec(llmd), 'llm-d-flow');
  assert.equal(llmd.flow, 'fcfs');
  assert.deepEqual(flowControlConfig(llmd), {
    enabled: true,
    policy: 'fcfs',
    queue_ttl_s: 3000,
    release: 'any-endpoint',
    saturation: { waiting_requests: 5, kv_usage: 0.8, count_reservations: false },
  });
  const dynamo = parsePolicySpec('dynamo-wspt+autoscaler');
  assert.equal(formatPolicySpec(dynamo), 'dynamo-wspt+autoscaler');
  assert.equal(dynamo.flow, 'wspt');
  assert.throws(() => parsePolicySpec('pythia@lifo'), /unknown flow-control order "lifo"/);
  assert.throws(() => parsePolicySpec('pythia@fcfs@wspt'), /at most one "@<order>"/);
});
