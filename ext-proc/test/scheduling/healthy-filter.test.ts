import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthyFilter as healthyFilterPlugin } from '../../src/core/scheduling/plugins/healthy-filter.js';
import { endpoint, request, sequence } from './helpers.js';

const healthyFilter = healthyFilterPlugin.create({});

test('drops unhealthy endpoints and keeps order', () => {
  const out = healthyFilter.filter(
    request,
    [endpoint('a'), endpoint('b', { healthy: false }), endpoint('c')],
    sequence(0),
  );
  assert.deepEqual(
    out.map((c) => c.endpoint.address),
    ['a', 'c'],
  );
});
