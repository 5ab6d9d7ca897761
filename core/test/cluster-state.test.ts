import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterState } from '../src/cluster/cluster-state.js';
import { sessionKey } from '../src/workflow/identifiers.js';

test("an endpoint counts its in-flight requests beyond the first of their session (a fan-out's siblings)", () => {
  const cluster = new ClusterState([{ name: 'p', models: ['m'], endpoints: [{ address: 'a' }] }]);
  const ep = cluster.endpoint('a');
  const load = (session?: string) => ({
    reservedTokens: 100,
    overflow: 0,
    decodeTokens: 10,
    ...(session === undefined ? {} : { session }),
  });
  const s1 = sessionKey('research', 's1');
  cluster.acquire('a', load(s1));
  cluster.acquire('a', load(s1));
  cluster.acquireRemote('a', load(s1));
  cluster.acquire('a', load(sessionKey('research', 's2')));
  cluster.acquire('a', load());
  assert.equal(ep?.inFlight, 5);
  assert.equal(ep?.sessions?.repeated, 2, 'three of s1: two beyond its first');
  cluster.releaseRemote('a', load(s1));
  cluster.release('a', load(s1));
  assert.equal(ep?.sessions?.repeated, 0);
  cluster.release('a', load(s1));
  cluster.release('a', load(s1));
  assert.equal(ep?.sessions?.repeated, 0, 'a session no longer there releases nothing');
});
