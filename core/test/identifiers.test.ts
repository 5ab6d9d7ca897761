import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIdentity } from '../src/workflow/identifiers.js';

test('three valid identifiers make workflow traffic', () => {
  const r = parseIdentity({ workflow: 'coding', session: 'a1b2-c3:d4', agent: 'planner' }, 128);
  assert.deepEqual(r, {
    kind: 'workflow',
    identity: { workflow: 'coding', session: 'a1b2-c3:d4', agent: 'planner' },
  });
});

test('no identifiers at all is plain traffic without rejections', () => {
  assert.deepEqual(parseIdentity({}, 128), { kind: 'plain', rejections: [] });
});

test('hostile or partial identifiers make plain traffic and say why', () => {
  const r = parseIdentity({ workflow: 'x'.repeat(129), session: 'ok', agent: 'drop table;' }, 128);
  assert.equal(r.kind, 'plain');
  assert.deepEqual(r.kind === 'plain' ? r.rejections : [], [
    { name: 'workflow', problem: 'too_long' },
    { name: 'agent', problem: 'bad_charset' },
  ]);
  const partial = parseIdentity({ workflow: 'coding', agent: 'planner' }, 128);
  assert.deepEqual(partial.kind === 'plain' ? partial.rejections : [], [
    { name: 'session', problem: 'missing' },
  ]);
  for (const bad of ['../etc', 'a b', 'a\nb', '*', '>', 'é', '-lead']) {
    assert.equal(parseIdentity({ workflow: bad, session: 's', agent: 'a' }, 128).kind, 'plain', bad);
  }
});
