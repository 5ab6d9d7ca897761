import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identitySource } from '../src/core/report.js';

test('workflows named by the identity resolver show as inferred, aliases included', () => {
  assert.equal(identitySource('wf-0k3x9a2b'), 'inferred');
  assert.equal(identitySource('coding'), 'headers');
  assert.equal(identitySource('coding', { 'wf-0k3x9a2b': 'coding' }), 'inferred');
  assert.equal(
    identitySource('coding', { 'r-0k3x9a2b': 'coding' }),
    'headers',
    'a role alias is not a workflow',
  );
});
