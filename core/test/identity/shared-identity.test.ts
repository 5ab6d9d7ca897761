// Several ext-proc replicas each resolve the requests Envoy sends them and share what they
// resolved (IdentityShare, folded in by apply()): a session's requests spread over them get
// the identities one resolver gives, admission counts included; the shares go through the
// same bounded tables, so a flood from one replica cannot evict another's real sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IdentitySettings, IdentityResolver, type IdentityShare } from '../../src/identity/resolver.js';
import { seededRandom } from '../../../test-support/src/workloads/rng.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';
import { SETTINGS } from './support.js';

/** `n` resolvers on one clock; with `shared`, each one's shares are applied by the others at once. */
function replicas(
  n: number,
  shared: boolean,
  over: Partial<IdentitySettings> = {},
  clock = new ManualClock(0),
) {
  const all: IdentityResolver[] = [];
  for (let i = 0; i < n; i++) {
    const share = shared
      ? (s: IdentityShare) => {
          for (const other of all) if (other !== all[i]) other.apply(s);
        }
      : null;
    all.push(new IdentityResolver({ ...SETTINGS, ...over }, clock, share));
  }
  return all;
}

const ROLES = ['planner', 'explorer', 'explorer', 'coder', 'coder', 'reviewer'];

/** Sessions of a planner -> explorers -> coder loop -> reviewer workflow, as their requests. */
function* requests(sessions: number, style: (s: number) => 'native' | 'none') {
  for (let s = 0; s < sessions; s++) {
    const conversation = [{ role: 'user', content: `task ${s}` }];
    for (const [i, role] of ROLES.entries()) {
      const messages = [
        { role: 'system', content: `You are the ${role}. Today is 2026-12-0${(s % 9) + 1}.` },
        ...conversation,
        ...(i === 0 ? [] : [{ role: 'user', content: `${role} step ${i}` }]),
      ];
      const headers = style(s) === 'native' ? { 'x-claude-code-session-id': `claude-${s}` } : {};
      yield { headers: new Map(Object.entries(headers)), path: '/v1/chat/completions', json: { messages } };
      conversation.push({ role: 'assistant', content: `${role} ${i} of ${s} done` });
    }
  }
}

function play(resolvers: IdentityResolver[], seed: number): string[] {
  const pick = seededRandom(seed);
  const out: string[] = [];
  for (const request of requests(12, (s) => (s % 3 === 0 ? 'native' : 'none'))) {
    const r = resolvers[Math.floor(pick() * resolvers.length)] as IdentityResolver;
    const { identity, source } = r.resolve(request);
    out.push(`${source} ${identity ? `${identity.workflow}/${identity.session}/${identity.agent}` : '-'}`);
  }
  return out;
}

test('requests spread over 2 or 4 sharing resolvers get the identities one resolver gives', () => {
  const one = play(replicas(1, false), 1);
  assert.ok(one.filter((l) => l.startsWith('inferred ')).length >= 30, 'chaining identified most requests');
  assert.ok(one.filter((l) => l.startsWith('native ')).length >= 12);
  assert.ok(
    one.some((l) => l.startsWith('none ')),
    'the first session is learned, not used',
  );
  for (const n of [2, 4]) {
    for (const seed of [1, 2, 3])
      assert.deepEqual(play(replicas(n, true), seed), one, `${n} replicas, seed ${seed}`);
    const alone = play(replicas(n, false), 1);
    assert.ok(alone.filter((l, i) => l !== one[i]).length > 10, 'without sharing, sessions split');
  }
});

test("one replica's flood of new conversations evicts no other replica's established sessions", () => {
  const clock = new ManualClock(0);
  const maxBytes = 256 * 1024;
  const [a, b] = replicas(2, true, { maxBytes, maxSessions: 500 }, clock) as [
    IdentityResolver,
    IdentityResolver,
  ];
  const real = [...requests(3, () => 'none')];
  // Sessions 0 and 1 establish the workflow; session 2 is a real, admitted session.
  for (const request of real.slice(0, 2 * ROLES.length + 2)) a.resolve(request);
  const session = b.resolve(real[2 * ROLES.length + 1] as (typeof real)[number]).identity?.session;
  assert.ok(session);
  // A client sending fresh conversations under ever new instructions, through replica A.
  for (let i = 0; i < 50_000; i++) {
    a.resolve({
      headers: new Map(),
      path: '/v1/chat/completions',
      json: {
        messages: [
          { role: 'system', content: `agent ${i}` },
          { role: 'user', content: `flood ${i}` },
        ],
      },
    });
    clock.advance(1);
  }
  for (const r of [a, b]) {
    assert.ok(r.bytes <= maxBytes, `${r.bytes} bytes`);
    assert.ok(r.stats.sessions <= 1000);
  }
  // The real session continues on B, found by its conversation.
  const next = b.resolve(real[2 * ROLES.length + 2] as (typeof real)[number]).identity;
  assert.equal(next?.session, session);
});
