// A role's first requests are `r-other` until its fingerprint is established (admission);
// their traces name the role when it is established by the time they end (traceAgent),
// on one resolver or on several sharing their sightings, and a flood of one-off
// fingerprints stays `r-other` without growing anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type IdentitySettings,
  IdentityResolver,
  type IdentityShare,
  OTHER_ROLE,
} from '../../src/identity/resolver.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';
import { SETTINGS } from './support.js';

const request = (role: string, session: string, run = 1) => ({
  headers: new Map([['x-claude-code-session-id', session]]),
  path: '/v1/chat/completions',
  json: {
    model: 'm',
    messages: [
      // The date varies per run and is masked: one fingerprint per role.
      { role: 'system', content: `You are the ${role}. Today is 2026-12-0${(run % 9) + 1}.` },
      { role: 'user', content: `task of ${session}` },
    ],
  },
});

/** Two sessions of the planner: its workflow type (and role) established. */
function learnt(r: IdentityResolver): string {
  r.resolve(request('planner', 'first'));
  const id = r.resolve(request('planner', 'second', 2)).identity;
  assert.ok(id, 'the workflow type is established by its second session');
  return id.workflow;
}

test("a role's first request is r-other; its trace names the role once established", () => {
  const r = new IdentityResolver(SETTINGS, new ManualClock(0));
  learnt(r);
  const first = r.resolve(request('tester', 'second', 3));
  assert.equal(first.identity?.agent, OTHER_ROLE, 'one sighting: not a role yet');
  const pending = first.pendingRole as string;
  assert.match(pending, /^r-[0-9a-z]{8}$/);
  assert.equal(r.traceAgent(pending), OTHER_ROLE, 'ending before the second sighting: r-other');
  const second = r.resolve(request('tester', 'second', 4));
  assert.equal(second.identity?.agent, pending, 'the second sighting establishes it');
  assert.equal(second.pendingRole, undefined);
  assert.equal(r.traceAgent(pending), pending, 'the first request, ending now, is traced as the role');
  // Aliases name it in the trace as in the identity.
  const aliased = new IdentityResolver({ ...SETTINGS, aliases: { [pending]: 'tester' } }, new ManualClock(0));
  learnt(aliased);
  const p = aliased.resolve(request('tester', 'second', 5)).pendingRole as string;
  assert.equal(aliased.resolve(request('tester', 'second', 6)).identity?.agent, 'tester');
  assert.equal(aliased.traceAgent(p), 'tester');
});

test('min_requests 3: both early requests are relabelled once the third sighting establishes the role', () => {
  const r = new IdentityResolver({ ...SETTINGS, minRequests: 3 }, new ManualClock(0));
  learnt(r);
  r.resolve(request('planner', 'third', 3)); // the planner's third sighting
  const early = [r.resolve(request('tester', 'second')), r.resolve(request('tester', 'third'))];
  const pending = early.map((o) => o.pendingRole as string);
  assert.deepEqual(
    pending.map((p) => r.traceAgent(p)),
    [OTHER_ROLE, OTHER_ROLE],
  );
  assert.equal(r.resolve(request('tester', 'third', 2)).identity?.agent, pending[0]);
  assert.deepEqual(
    pending.map((p) => r.traceAgent(p)),
    [pending[0], pending[0]],
  );
});

test('a flood of one-off fingerprints stays r-other, bounded, and displaces no role', () => {
  const clock = new ManualClock(0);
  const maxBytes = 512 * 1024;
  const r = new IdentityResolver({ ...SETTINGS, maxBytes }, clock);
  const workflow = learnt(r);
  const planner = r.resolve(request('planner', 'third', 3)).identity?.agent as string;
  const before = r.stats.roles;
  let relabelled = 0;
  for (let i = 0; i < 50_000; i++) {
    const out = r.resolve(request(`one-off ${i}`, `hostile-${i % 50}`));
    assert.equal(out.identity?.agent ?? OTHER_ROLE, OTHER_ROLE);
    // Each request carries its own pending id; nothing is kept for it once it ends.
    if (out.pendingRole && r.traceAgent(out.pendingRole) !== OTHER_ROLE) relabelled++;
    clock.advance(1);
    if (i % 10_000 === 0) assert.ok(r.bytes <= maxBytes, `${r.bytes} bytes after ${i}`);
  }
  assert.equal(relabelled, 0, 'no one-off fingerprint is ever traced as a role');
  assert.equal(r.stats.roles, before, 'no role was established by the flood');
  assert.ok(r.bytes <= maxBytes, `${r.bytes} bytes`);
  const after = r.resolve(request('planner', 'fourth', 4)).identity;
  assert.deepEqual([after?.workflow, after?.agent], [workflow, planner], 'learned names stay');
});

test('two replicas: the first sighting on one, the second on the other; both name the role', () => {
  const clock = new ManualClock(0);
  const all: IdentityResolver[] = [];
  const make = (over: Partial<IdentitySettings> = {}) => {
    const self: IdentityResolver = new IdentityResolver(
      { ...SETTINGS, ...over },
      clock,
      (s: IdentityShare) => {
        for (const other of all) if (other !== self) other.apply(s);
      },
    );
    all.push(self);
    return self;
  };
  const [a, b] = [make(), make()] as [IdentityResolver, IdentityResolver];
  learnt(a);
  const onA = a.resolve(request('tester', 'second', 3));
  const onB = b.resolve(request('tester', 'second', 4));
  assert.equal(onA.identity?.agent, OTHER_ROLE);
  assert.equal(onB.identity?.agent, onA.pendingRole, 'A shared its sighting: B counts it');
  assert.equal(a.traceAgent(onA.pendingRole as string), onA.pendingRole, "B's admission reached A");
  assert.equal(b.traceAgent(onA.pendingRole as string), onA.pendingRole);
});
