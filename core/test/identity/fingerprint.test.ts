import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNormaliser, fingerprintId } from '../../src/identity/fingerprint.js';

const role = (date: string, run: string) =>
  `You are the  planner of a coding team.\n\nToday is ${date}. Run ${run}.\tSession 7d9c1f0e-8a4b-4c2d-9e3f-0a1b2c3d4e5f`;

test('run-specific pieces and whitespace do not change the fingerprint', () => {
  const n = createNormaliser();
  const a = fingerprintId(n(role('2026-12-02', 'a1b2c3d4e5f6a7b8')));
  const b = fingerprintId(n(role('2027-01-15T08:00:00Z', '0f9e8d7c6b5a4932')));
  assert.equal(a, b);
  assert.match(a, /^[0-9a-z]{8}$/);
});

test('different instructions give different fingerprints', () => {
  const n = createNormaliser();
  assert.notEqual(fingerprintId(n('You are the planner.')), fingerprintId(n('You are the reviewer.')));
});

test('configured masks apply after the built-in ones', () => {
  const plain = createNormaliser();
  const masked = createNormaliser(['workspace /\\S+']);
  const a = 'Work in workspace /home/alice/repo.';
  const b = 'Work in workspace /srv/bob/other.';
  assert.notEqual(fingerprintId(plain(a)), fingerprintId(plain(b)));
  assert.equal(fingerprintId(masked(a)), fingerprintId(masked(b)));
});

test('an invalid configured pattern is refused at construction', () => {
  assert.throws(() => createNormaliser(['(']));
});
