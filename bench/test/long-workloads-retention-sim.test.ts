// The session retention hint on the long-context workloads: asked of every request and passed
// to the engines, it keeps sessions resident (long-workloads-cluster.ts says why a file of its own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetentionQuery } from '../src/sim/cluster.js';
import { runLong } from './long-workloads-cluster.js';

test('coding-long on the cluster: retention keeps sessions resident', () => {
  const plain = runLong({});
  assert.equal(plain.sessionsCompleted, 6);
  const queries: RetentionQuery[] = [];
  const retained = runLong({
    retention: (q) => {
      queries.push(q);
      return {
        key: q.thread === null ? q.session : `${q.session}/${q.thread}`,
        ttlMs: q.lastOfContext ? 0 : 30_000,
      };
    },
  });
  assert.equal(retained.sessionsCompleted, 6);
  assert.equal(queries.length, retained.requests, 'every request was asked about');
  assert.ok(queries.some((q) => q.lastOfContext) && queries.some((q) => !q.lastOfContext));
  assert.ok(retained.cachedTokens > plain.cachedTokens, 'pinned sessions were not evicted by the others');
});
