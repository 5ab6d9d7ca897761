import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_PARENT_HEADERS,
  DEFAULT_SESSION_HEADERS,
  nativeSession,
} from '../../src/identity/native-session.js';

const names = { session: DEFAULT_SESSION_HEADERS, parent: DEFAULT_PARENT_HEADERS };

test('each agent client header names a session; equal values, equal sessions', () => {
  const ids = DEFAULT_SESSION_HEADERS.map((h) => nativeSession(new Map([[h, 'abc-123']]), names)?.session);
  assert.ok(ids.every((id) => id === ids[0] && /^n-[0-9a-z]{8}$/.test(id ?? '')));
  assert.notEqual(nativeSession(new Map([['session_id', 'other']]), names)?.session, ids[0]);
});

test('a parent session header wins: a sub-agent joins its parent session', () => {
  const parent = nativeSession(new Map([['x-claude-code-session-id', 'P']]), names);
  const child = nativeSession(
    new Map([
      ['x-claude-code-session-id', 'C'],
      ['x-claude-code-parent-session-id', 'P'],
    ]),
    names,
  );
  assert.equal(child?.session, parent?.session);
  assert.equal(child?.fromParent, true);
});

test('no header, or only blank values: no session; a configured extra header counts', () => {
  assert.equal(nativeSession(new Map(), names), null);
  assert.equal(nativeSession(new Map([['session-id', '  ']]), names), null);
  const custom = { session: [...DEFAULT_SESSION_HEADERS, 'x-my-run'], parent: [] };
  assert.ok(nativeSession(new Map([['x-my-run', 'r1']]), custom));
});

test('hostile values (long, any charset) become short safe ids', () => {
  const s = nativeSession(new Map([['session_id', '\u0000'.repeat(100_000) + ' <script>']]), names);
  assert.match(s?.session ?? '', /^n-[0-9a-z]{8}$/);
});
