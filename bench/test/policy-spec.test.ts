import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PolicySpecError,
  formatPolicySpec,
  leverOn,
  parsePolicySpec,
  routingLabel,
} from '../src/runner/policy-spec.js';
import { configSchema } from '../../common/src/config/schema.js';
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
    'pythia@workflow-aware',
    'pythia@workflow-aware:waiting=5',
    'pythia@workflow-aware:kv=0.95',
    'pythia-no-warming@fcfs:waiting=8:kv=0.95+autoscaler',
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
    ['pythia@workflow-aware:', /unknown saturation part "" \(expected ":waiting=<n>" then ":kv=<x>"/],
    ['pythia@workflow-aware:depth=5', /unknown saturation part "depth=5"/],
    ['pythia@workflow-aware:kv=0.95:waiting=5', /unknown saturation part "waiting=5"/],
    ['pythia@workflow-aware:waiting=5:waiting=3', /unknown saturation part "waiting=3"/],
    ['pythia@workflow-aware:kv=0.9:kv=0.95', /unknown saturation part "kv=0.95"/],
    ['pythia@workflow-aware:waiting=0', /saturation "waiting=0": waiting requests must be an integer >= 1/],
    ['pythia@workflow-aware:waiting=2.5', /saturation "waiting=2.5": waiting requests must be an integer/],
    ['pythia@workflow-aware:waiting=05', /saturation "waiting=05": waiting requests must be/],
    ['pythia@workflow-aware:waiting=', /saturation "waiting=": waiting requests must be/],
    ['pythia@workflow-aware:kv=0', /saturation "kv=0": KV usage must be a fraction in \(0, 1\]/],
    ['pythia@workflow-aware:kv=1.5', /saturation "kv=1.5": KV usage must be a fraction/],
    ['pythia@workflow-aware:kv=.95', /saturation "kv=.95": KV usage must be a fraction/],
    ['pythia@lifo:waiting=5', /unknown flow-control order "lifo"/],
    ['pythia:waiting=5', /unknown routing profile "pythia:waiting=5"/],
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
  // Dynamo's queue keeps the detector it was measured with, not the service's default of 8 waiting.
  assert.deepEqual(flowControlConfig(dynamo).saturation, { waiting_requests: 1, kv_usage: 0.9 });
  assert.throws(() => parsePolicySpec('pythia@lifo'), /unknown flow-control order "lifo"/);
  assert.throws(() => parsePolicySpec('pythia@fcfs@wspt'), /at most one "@<order>"/);
});

test('@<order>:waiting=<n>:kv=<x> sets the saturation thresholds it gives, the others left to their defaults', () => {
  const both = parsePolicySpec('pythia@workflow-aware:waiting=5:kv=0.95');
  assert.deepEqual(both.saturation, { waitingRequests: 5, kvUsage: 0.95 });
  assert.deepEqual(flowControlConfig(both), {
    saturation: { waiting_requests: 5, kv_usage: 0.95 },
    enabled: true,
    policy: 'workflow-aware',
    queue_ttl_s: 3000,
  });
  assert.deepEqual(flowControlConfig(parsePolicySpec('pythia@fcfs:kv=0.95')).saturation, { kv_usage: 0.95 });
  assert.equal(parsePolicySpec('pythia@workflow-aware').saturation, undefined);
  // The service's config takes it as written (the defaults fill in the rest).
  const parsed = configSchema.shape.scheduler.parse({
    flow_control: flowControlConfig(parsePolicySpec('pythia@workflow-aware:waiting=8')),
  }).flow_control.saturation;
  assert.deepEqual(parsed, { waiting_requests: 8, kv_usage: 0.9, count_reservations: true });
});
