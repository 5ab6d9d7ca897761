// A request carrying only a Claude-Code-style session header, through the real service and
// the Envoy-faithful client: its workflow, session and role are resolved without the Pythia
// headers and reported upstream in x-pythia-identity.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getHeader } from '../../test-support/src/header-mutation.js';
import {
  type Harness,
  MODEL,
  chatHeaders,
  metricsText,
  startHarness,
  testConfig,
} from './support/harness.js';

function agentBody(role: string, session: string, ...turns: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: MODEL,
      messages: [
        // The date and run id change per session; the role's fingerprint must not.
        {
          role: 'system',
          content: `You are the ${role} agent.\nToday's date is 2026-12-0${session.length % 9}. Run id: ${'ab'.repeat(4)}${session.length}0000000.`,
        },
        ...turns.map((t, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: t })),
      ],
    }),
  );
}

describe('identity without the Pythia headers (Envoy-faithful)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(testConfig({ identity: { min_sessions: 1, min_requests: 1 } }));
  });
  after(async () => {
    await h.stop();
  });

  test('only x-claude-code-session-id: routed as native workflow traffic, reported upstream', async () => {
    const session: Array<[string, string]> = [['x-claude-code-session-id', 'cc-7d9c1f0e']];
    const out = await h.client.processRequest(
      chatHeaders(session),
      agentBody('planner', 'cc-7d9c1f0e', 'task'),
    );
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.equal(getHeader(out.headers, 'x-pythia-identity'), 'native');
    assert.ok(getHeader(out.headers, 'x-pythia-cluster'));
    const metrics = await metricsText(h.service);
    assert.match(metrics, /pythia_ext_proc_identity_total\{source="native"\} 1/);
  });

  test('no session header: conversation chaining; a plain request stays ordinary', async () => {
    const first = await h.client.processRequest(chatHeaders(), agentBody('writer', 'x', 'write about tides'));
    const next = await h.client.processRequest(
      chatHeaders(),
      agentBody('editor', 'x', 'write about tides', 'draft', 'edit it'),
    );
    assert.equal(first.kind === 'continue' && getHeader(first.headers, 'x-pythia-identity'), 'inferred');
    assert.equal(next.kind === 'continue' && getHeader(next.headers, 'x-pythia-identity'), 'inferred');
    const plain = await h.client.processRequest(
      chatHeaders(),
      Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })),
    );
    assert.equal(plain.kind === 'continue' && getHeader(plain.headers, 'x-pythia-identity'), 'none');
  });

  test('a client-supplied x-pythia-identity is removed, the Pythia headers win over native ones', async () => {
    const out = await h.client.processRequest(
      chatHeaders([
        ['x-pythia-identity', 'headers'],
        ['x-claude-code-session-id', 'cc-1'],
        ['x-pythia-workflow', 'coding'],
        ['x-pythia-session', 's-1'],
        ['x-pythia-agent', 'planner'],
      ]),
      agentBody('planner', 'cc-1', 'task'),
    );
    assert.equal(out.kind, 'continue');
    if (out.kind !== 'continue') return;
    assert.deepEqual(
      out.headers.filter(([k]) => k === 'x-pythia-identity'),
      [['x-pythia-identity', 'headers']],
    );
    const spoofed = await h.client.processRequest(
      chatHeaders([['x-pythia-identity', 'native']]),
      Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] })),
    );
    assert.equal(spoofed.kind === 'continue' && getHeader(spoofed.headers, 'x-pythia-identity'), 'none');
  });
});
