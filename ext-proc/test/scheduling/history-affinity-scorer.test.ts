import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyAffinityScorer as historyAffinityScorerPlugin } from '../../src/core/scheduling/plugins/history-affinity-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const historyAffinityScorer = historyAffinityScorerPlugin.create({});

const identity = { workflow: 'w', session: 's', agent: 'explorer' };

test('a sequential step is pulled to where its session ran last, a reservation wins over that', () => {
  const ctx = sequence(0);
  const r = { ...request, identity };
  ctx.sessions.placed('w', 's', 'last', 900);
  assert.deepEqual(historyAffinityScorer.score(r, [endpoint('last'), endpoint('other')], ctx), [1, 0]);
  ctx.sessions.reserve('w', 's', 'explorer', 'warmed', 5000, 950);
  assert.deepEqual(historyAffinityScorer.score(r, [endpoint('last'), endpoint('warmed')], ctx), [0, 1]);
  assert.deepEqual(historyAffinityScorer.score(request, [endpoint('warmed')], ctx), [0], 'no identity');
});

test('parallel siblings of a fan-out are not piled onto the last endpoint, but keep a reservation', () => {
  const ctx = sequence(0);
  const sibling = { ...request, identity, siblingsInFlight: 2 };
  ctx.sessions.placed('w', 's', 'last', 900);
  assert.deepEqual(historyAffinityScorer.score(sibling, [endpoint('last'), endpoint('other')], ctx), [0, 0]);
  ctx.sessions.reserve('w', 's', 'explorer', 'warmed', 5000, 950);
  assert.deepEqual(historyAffinityScorer.score(sibling, [endpoint('warmed'), endpoint('last')], ctx), [1, 0]);
});
