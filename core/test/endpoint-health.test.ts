import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EndpointHealth, afterProbe } from '../src/cluster/endpoint-health.js';

const probes = (start: EndpointHealth, results: boolean[], after: number) =>
  results.reduce<EndpointHealth[]>(
    (trail, ok) => [...trail, afterProbe(trail.at(-1) ?? start, ok, after)],
    [],
  );

test('an endpoint is taken out after the configured failures in a row, not before', () => {
  const trail = probes({ healthy: true, failures: 0 }, [false, false, false, false], 3);
  assert.deepEqual(
    trail.map((h) => h.healthy),
    [true, true, false, false],
  );
  assert.deepEqual(
    trail.map((h) => h.failures),
    [1, 2, 3, 4],
  );
});

test('a success in between restarts the count; one success brings an endpoint back', () => {
  const trail = probes({ healthy: true, failures: 0 }, [false, false, true, false, false, false, true], 3);
  assert.deepEqual(
    trail.map((h) => h.healthy),
    [true, true, true, true, true, false, true],
  );
  assert.equal(trail.at(-1)?.failures, 0);
});

test('with a threshold of one the first failure takes the endpoint out', () => {
  assert.deepEqual(afterProbe({ healthy: true, failures: 0 }, false, 1), { healthy: false, failures: 1 });
});

test('failures never bring an unhealthy endpoint back', () => {
  assert.equal(afterProbe({ healthy: false, failures: 0 }, false, 5).healthy, false);
});
