import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConversationChains } from '../../src/identity/conversation-chain.js';
import { conversationPrefixHashes } from '../../src/prompt/prefix-hash.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';

const chat = (system: string, ...turns: string[]) => ({
  messages: [
    { role: 'system', content: system },
    ...turns.map((t, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: t })),
  ],
});

test('a request extending an earlier conversation continues its session, whatever its instructions', () => {
  const chains = new ConversationChains({ maxEntries: 100, maxBytes: 1e6, idleMs: 0 }, new ManualClock());
  const first = conversationPrefixHashes(chat('planner', 'fix the bug in parser.ts'));
  assert.equal(chains.find(first), null);
  chains.remember(first, 's1');
  const next = conversationPrefixHashes(chat('coder', 'fix the bug in parser.ts', 'plan: ...', 'go'));
  assert.equal(chains.find(next), 's1');
  chains.remember(next, 's1');
  const other = conversationPrefixHashes(chat('planner', 'write docs'));
  assert.equal(chains.find(other), null, 'another first message starts another session');
  assert.equal(chains.find(first), 's1', 'a retry is the same session');
});

test('instructions are left out of the hashes; content parts count like strings', () => {
  const a = conversationPrefixHashes(chat('A', 'hello'));
  const b = conversationPrefixHashes({
    messages: [
      { role: 'developer', content: 'B' },
      { role: 'user', content: [{ type: 'text', text: 'hello' }] },
    ],
  });
  assert.deepEqual(a, b);
  assert.equal(a.length, 1);
});

test('stays bounded: a million conversations keep at most maxEntries ends', () => {
  const chains = new ConversationChains({ maxEntries: 1000, maxBytes: 1e6, idleMs: 0 }, new ManualClock());
  for (let i = 0; i < 100_000; i++) chains.remember([i * 7919 + 1], `s${i}`);
  assert.ok(chains.size <= 1000);
  assert.ok(chains.bytes <= 1e6);
});
