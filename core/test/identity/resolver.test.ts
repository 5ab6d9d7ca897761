import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission } from '../../src/identity/admission.js';
import {
  type IdentitySettings,
  IdentityResolver,
  OTHER_ROLE,
  isInferredWorkflow,
} from '../../src/identity/resolver.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';
import { SETTINGS } from './support.js';

const resolver = (over: Partial<IdentitySettings> = {}, clock = new ManualClock(0)) =>
  new IdentityResolver({ ...SETTINGS, ...over }, clock);

const system = (role: string, run: number) =>
  `You are the ${role}. Today is 2026-12-${String((run % 28) + 1).padStart(2, '0')}. Run ${(run * 7919).toString(16).padStart(12, 'a')}.`;

function body(role: string, run: number, ...turns: string[]) {
  return {
    model: 'm',
    messages: [
      { role: 'system', content: system(role, run) },
      ...turns.map((t, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: t })),
    ],
  };
}

const req = (
  json: Record<string, unknown>,
  headers: Record<string, string> = {},
  path = '/v1/chat/completions',
) => ({
  headers: new Map(Object.entries(headers)),
  path,
  json,
});

test('the three Pythia headers come first and are used as sent', () => {
  const r = resolver();
  const out = r.resolve(
    req(body('planner', 1, 'task'), {
      'x-pythia-workflow': 'coding',
      'x-pythia-session': 's1',
      'x-pythia-agent': 'planner',
      'x-claude-code-session-id': 'ignored',
    }),
  );
  assert.deepEqual(out, {
    identity: { workflow: 'coding', session: 's1', agent: 'planner' },
    source: 'headers',
    rejections: [],
  });
  const bad = r.resolve(req(body('planner', 1, 'task'), { 'x-pythia-workflow': 'coding' }));
  assert.equal(bad.identity, null);
  assert.equal(bad.rejections.length, 2);
});

test('native: a session header, roles from fingerprints, the workflow from the entry role', () => {
  const r = resolver();
  const run = (n: number) => {
    const h = { 'x-claude-code-session-id': `session-${n}` };
    return [
      r.resolve(req(body('planner', n, `task ${n}`), h)),
      r.resolve(req(body('coder', n, `task ${n}`, 'plan', 'code it'), h)),
      r.resolve(req(body('coder', n, `task ${n}`, 'plan', 'code it', 'done', 'again'), h)),
    ];
  };
  const first = run(1);
  assert.ok(
    first.every((o) => o.identity === null && o.source === 'none'),
    'a new workflow is learned first',
  );
  const second = run(2);
  assert.ok(second.every((o) => o.source === 'native'));
  const [p, c1, c2] = second.map((o) => o.identity);
  assert.equal(p?.session, c1?.session);
  assert.equal(p?.workflow, c2?.workflow);
  assert.match(p?.workflow ?? '', /^wf-[0-9a-z]{8}$/);
  assert.match(p?.agent ?? '', /^r-[0-9a-z]{8}$/);
  assert.notEqual(p?.agent, c1?.agent);
  assert.equal(c1?.agent, c2?.agent, 'the date and run id in the instructions are masked');
  assert.equal(p?.workflow, `wf-${(p?.agent ?? '').slice(2)}`, 'named after the entry role');
  const third = run(3);
  assert.equal(third[0]?.identity?.workflow, p?.workflow, 'the same workflow type across sessions');
});

test('aliases name roles and workflows; a sub-agent with a parent header joins the parent session', () => {
  const probe = resolver({ minSessions: 1, minRequests: 1 });
  const id = probe.resolve(req(body('planner', 1, 'x'), { session_id: 'a' })).identity;
  const roleId = id?.agent as string;
  const r = resolver({
    minSessions: 1,
    minRequests: 1,
    aliases: { [roleId]: 'planner', [`wf-${roleId.slice(2)}`]: 'coding' },
  });
  const parent = r.resolve(req(body('planner', 5, 'y'), { 'session-id': 'P' })).identity;
  assert.deepEqual({ w: parent?.workflow, a: parent?.agent }, { w: 'coding', a: 'planner' });
  const child = r.resolve(
    req(body('explorer', 5, 'look'), { 'session-id': 'C', 'x-parent-session-id': 'P' }),
  ).identity;
  assert.equal(child?.session, parent?.session);
  assert.equal(child?.workflow, 'coding');
  assert.ok(isInferredWorkflow('coding', { [`wf-${roleId.slice(2)}`]: 'coding' }));
  assert.ok(!isInferredWorkflow('coding'));
});

test('inferred: without any session header, conversation chaining finds the session', () => {
  const r = resolver({ minSessions: 1, minRequests: 1 });
  const a1 = r.resolve(req(body('planner', 1, 'task A'))).identity;
  const b1 = r.resolve(req(body('planner', 2, 'task B'))).identity;
  const a2 = r.resolve(req(body('coder', 1, 'task A', 'plan A', 'go'))).identity;
  const b2 = r.resolve(req(body('coder', 2, 'task B', 'plan B', 'go'))).identity;
  assert.notEqual(a1?.session, b1?.session);
  assert.equal(a2?.session, a1?.session);
  assert.equal(b2?.session, b1?.session);
  assert.equal(a2?.workflow, a1?.workflow, 'the workflow is the entry role of the chain');
  assert.equal(r.resolve(req(body('coder', 1, 'task A', 'plan A', 'go'))).source, 'inferred');
});

test('each source can be switched off; no instructions means ordinary traffic', () => {
  const noHeaders = resolver({ useHeaders: false, minSessions: 1, minRequests: 1 });
  const h = { 'x-pythia-workflow': 'w', 'x-pythia-session': 's', 'x-pythia-agent': 'a' };
  assert.notEqual(noHeaders.resolve(req(body('p', 1, 'x'), h)).source, 'headers');
  const noNative = resolver({ native: null, chaining: false });
  assert.equal(noNative.resolve(req(body('p', 1, 'x'), { session_id: 's' })).source, 'none');
  const onlyNative = resolver({ chaining: false, minSessions: 1, minRequests: 1 });
  assert.equal(onlyNative.resolve(req(body('p', 1, 'x'))).source, 'none');
  assert.equal(onlyNative.resolve(req(body('p', 1, 'x'), { session_id: 's' })).source, 'native');
  assert.equal(
    onlyNative.resolve(req({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { session_id: 't' }))
      .source,
    'none',
  );
  assert.equal(onlyNative.resolve(req({ model: 'm', prompt: 'hi' }, { session_id: 't' })).source, 'none');
});

test('tenant and route can split a workflow type', () => {
  const r = resolver({ minSessions: 1, minRequests: 1, tenantHeader: 'x-tenant', byRoute: true });
  const w = (tenant: string, path: string, s: string) =>
    r.resolve(req(body('planner', 1, s), { session_id: s, 'x-tenant': tenant }, path)).identity?.workflow;
  assert.equal(w('t1', '/v1/chat/completions', 'a'), w('t1', '/v1/chat/completions', 'b'));
  assert.notEqual(w('t1', '/v1/chat/completions', 'c'), w('t2', '/v1/chat/completions', 'd'));
  assert.notEqual(w('t1', '/v1/chat/completions', 'e'), w('t1', '/openai/v1/chat/completions', 'f'));
});

test('hostile: new instructions on every request stay within the bounds and displace no workflow', () => {
  const clock = new ManualClock(0);
  const maxBytes = 2 * 1024 * 1024;
  const r = resolver({ maxBytes, maxSessions: 5000 }, clock);
  const learned = () =>
    [10, 11].map(
      (n) => r.resolve(req(body('planner', n, `real ${n}`), { session_id: `real-${n}` })).identity,
    );
  learned();
  const before = learned()[1]?.workflow;
  assert.ok(before);
  // A client whose instructions change on every request, inside one native session...
  for (let i = 0; i < 5_000; i++) {
    const out = r.resolve(req(body(`shifting ${i}`, 1, 'x'), { session_id: 'hostile' }));
    if (out.identity) assert.equal(out.identity.agent, OTHER_ROLE, 'never a new role per request');
    clock.advance(1);
  }
  // ...and many distinct fingerprints, each in its own conversation (a million are counted
  // by the admission test below; here the whole path runs, at a size that stays fast).
  for (let i = 0; i < 100_000; i++) {
    r.resolve(
      req({
        model: 'm',
        messages: [
          { role: 'system', content: `agent ${i}` },
          { role: 'user', content: String(i) },
        ],
      }),
    );
    if (i % 10_000 === 0) assert.ok(r.bytes <= maxBytes, `${r.bytes} bytes after ${i}`);
  }
  assert.ok(r.bytes <= maxBytes, `${r.bytes} bytes`);
  assert.ok(r.stats.sessions <= 5000);
  assert.ok(r.stats.workflows <= SETTINGS.maxWorkflows);
  const after = r.resolve(req(body('planner', 12, 'real 12'), { session_id: 'real-12' })).identity;
  assert.equal(after?.workflow, before, 'the learned workflow is still established');
  assert.equal(r.resolve(req(body('planner', 12, 'real 12'), { session_id: 'real-12' })).source, 'native');
});

test('admission: candidates churn without evicting established names', () => {
  const clock = new ManualClock(0);
  const a = new Admission(
    {
      minCount: 2,
      maxEstablished: 10,
      maxCandidates: 10,
      maxBytes: 1e6,
      candidateIdleMs: 1000,
      establishedIdleMs: 100_000,
    },
    clock,
  );
  assert.equal(a.note('w'), false);
  assert.equal(a.note('w'), true);
  for (let i = 0; i < 1_000_000; i++) a.note(`flood-${i}`);
  assert.equal(a.has('w'), true);
  assert.ok(a.candidateCount <= 10);
  clock.advance(100_000);
  assert.equal(a.has('w'), false, 'an established name idle past its expiry goes');
});
