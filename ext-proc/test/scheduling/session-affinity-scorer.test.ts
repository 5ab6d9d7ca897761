import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionAffinityScorer as sessionAffinityScorerPlugin } from '../../src/core/scheduling/plugins/session-affinity-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const sessionAffinityScorer = sessionAffinityScorerPlugin.create({});

test('prefers where the session ran last, and a reservation for its agent over that', () => {
  const ctx = sequence(0);
  const identity = { workflow: 'w', session: 's', agent: 'coder' };
  const r = { ...request, identity };
  ctx.sessions.placed('w', 's', 'last', 900);
  assert.deepEqual(sessionAffinityScorer.score(r, [endpoint('last'), endpoint('other')], ctx), [1, 0]);
  ctx.sessions.reserve('w', 's', 'coder', 'warmed', 5000, 950);
  assert.deepEqual(sessionAffinityScorer.score(r, [endpoint('last'), endpoint('warmed')], ctx), [0, 1]);
  assert.deepEqual(
    sessionAffinityScorer.score({ ...request }, [endpoint('warmed')], ctx),
    [0],
    'no identity, no affinity',
  );
});
