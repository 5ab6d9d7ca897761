import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoReadyEndpointError, UnknownModelError } from '../../../core/src/errors.js';
import { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import { BUILT_IN_PROFILES } from '../../../common/src/config/profiles.js';
import { BUILT_IN_PLUGINS } from '../../src/core/scheduling/registry.js';
import { Scheduler } from '../../src/core/scheduling/scheduler.js';
import { request, sequence } from './helpers.js';

const leastRequestProfile = BUILT_IN_PLUGINS.build('least-request', BUILT_IN_PROFILES);
const pools = [
  { name: 'h100', models: ['m'], endpoints: [{ address: '127.0.0.1:80' }, { address: '127.0.0.2:80' }] },
  { name: 'a100', models: ['m', 'big'], endpoints: [{ address: '127.0.1.1:80' }] },
  { name: 'empty', models: ['ghost'], endpoints: [] },
];

test('least-request picks across every pool serving the model', () => {
  const cluster = new ClusterState(pools);
  const scheduler = new Scheduler(cluster, leastRequestProfile, sequence(0.5), {
    defaultPool: null,
    fallbacks: 2,
    trace: true,
  });
  cluster.acquire('127.0.0.1:80');
  cluster.acquire('127.0.0.2:80');
  const d = scheduler.decide(request);
  assert.equal(d.pool, 'a100');
  assert.equal(d.endpoint, '127.0.1.1:80');
  assert.deepEqual(d.fallbacks, [], 'fallbacks stay in the chosen pool');
  assert.equal(d.profile, 'least-request');
  assert.deepEqual(
    d.trace.map((t) => t.plugin),
    ['healthy-filter', 'least-request-scorer'],
  );
});

test('fallbacks are the next best endpoints of the same pool', () => {
  const cluster = new ClusterState(pools);
  const scheduler = new Scheduler(cluster, leastRequestProfile, sequence(0.1, 0.2, 0.3), {
    defaultPool: null,
    fallbacks: 2,
    trace: false,
  });
  cluster.acquire('127.0.1.1:80');
  cluster.acquire('127.0.1.1:80');
  cluster.acquire('127.0.0.2:80');
  const d = scheduler.decide(request);
  assert.equal(d.endpoint, '127.0.0.1:80');
  assert.deepEqual(d.fallbacks, ['127.0.0.2:80']);
});

test('unknown models fail unless a default pool is set; empty pools have no ready endpoint', () => {
  const cluster = new ClusterState(pools);
  const strict = new Scheduler(cluster, leastRequestProfile, sequence(0), {
    defaultPool: null,
    fallbacks: 0,
    trace: false,
  });
  assert.throws(() => strict.decide({ ...request, model: 'nope' }), UnknownModelError);
  assert.throws(() => strict.decide({ ...request, model: 'ghost' }), NoReadyEndpointError);
  const lenient = new Scheduler(cluster, leastRequestProfile, sequence(0), {
    defaultPool: 'a100',
    fallbacks: 0,
    trace: false,
  });
  assert.equal(lenient.decide({ ...request, model: 'nope' }).pool, 'a100');
  cluster.setHealthy('127.0.1.1:80', false);
  assert.throws(() => lenient.decide({ ...request, model: 'big' }), NoReadyEndpointError);
});

test('a pool answers to its own name as a model', () => {
  const cluster = new ClusterState(pools);
  const scheduler = new Scheduler(cluster, leastRequestProfile, sequence(0), {
    defaultPool: null,
    fallbacks: 0,
    trace: false,
  });
  assert.equal(scheduler.decide({ ...request, model: 'a100' }).pool, 'a100');
});
