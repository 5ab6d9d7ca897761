// The bench's --identity modes on the simulated cluster: the same sessions identified by the
// Pythia headers, by a Claude-Code-style session header only, or by nothing but the body.
// Native and inferred identities learn the same workflow structure, under fingerprint names,
// with one ext-proc replica or several (each request identified by the replica it reaches).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { createNormaliser } from '../../core/src/identity/fingerprint.js';
import type { IdentityMode } from '../src/sim/client-identity.js';
import { clientHeaders, instructions } from '../src/sim/client-identity.js';
import { runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { codingWorkload, researchWorkload } from '../../test-support/src/workloads/agent-workloads.js';

function run(identity: IdentityMode, workload = codingWorkload, extProcReplicas = 1) {
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    scheduler: { profile: 'pythia', reactive_profile: 'least-request' },
    profiler: { end_grace_s: 0 },
  });
  return runCluster({
    config,
    pools: [{ name: 'llama', models: ['llama'], replicas: 4, profile: H100_LLAMA_8B }],
    priorityScheduling: true,
    learn: true,
    plans: workload({ sessions: 40, ratePerS: 0.5, seed: 3 }),
    seed: 1,
    identity,
    ...(extProcReplicas > 1 ? { extProcReplicas: { count: extProcReplicas, delayMs: 1 } } : {}),
  });
}

/** The regex with its role names replaced by letters in order of first appearance. */
function shape(regex: string): string {
  const names = new Map<string, string>();
  return regex.replace(/[A-Za-z][\w-]*/g, (name) => {
    if (!names.has(name)) names.set(name, String.fromCharCode(65 + names.size));
    return names.get(name) as string;
  });
}

test('coding: native and inferred identities learn the headers structure under fingerprint names', () => {
  const headers = run('headers');
  const expected = headers.learnedRegexes?.['coding'];
  assert.equal(expected, 'planner explorer[3,4] engineer{3,6} reviewer verifier');
  for (const mode of ['native', 'none'] as const) {
    const r = run(mode);
    assert.equal(r.sessionsCompleted, 40, mode);
    const learned = Object.entries(r.learnedRegexes ?? {});
    assert.equal(learned.length, 1, `${mode}: one workflow (${JSON.stringify(learned)})`);
    const [workflow, regex] = learned[0] as [string, string];
    assert.match(workflow, /^wf-[0-9a-z]{8}$/);
    assert.match(regex, /^r-[0-9a-z]{8} /, 'roles named by fingerprint');
    assert.equal(shape(regex), shape(expected as string), `${mode}: ${regex}`);
  }
});

test('over 2 ext-proc replicas, native and inferred sessions are learned as on one', () => {
  for (const mode of ['native', 'none'] as const) {
    const one = run(mode);
    const two = run(mode, codingWorkload, 2);
    assert.equal(two.sessionsCompleted, 40, mode);
    assert.deepEqual(two.learnedRegexes, one.learnedRegexes, `${mode}: one workflow, the same structure`);
    assert.ok((two.replicaEvents ?? 0) > 0, `${mode}: events between the replicas`);
  }
});

test('research without session headers: searchers handed no conversation start sessions of their own', () => {
  const none = run('none', researchWorkload);
  const native = run('native', researchWorkload);
  assert.equal(Object.keys(native.learnedRegexes ?? {}).length, 1);
  assert.ok(
    Object.keys(none.learnedRegexes ?? {}).length >= 2,
    'the planner-led workflow and lone searchers',
  );
});

test('per-session noise in the simulated instructions is masked by the normaliser', () => {
  const n = createNormaliser();
  const plan = (session: string) => ({ workflow: 'coding', session, arrivalS: 0, steps: [] });
  const a = instructions('You are the planner.', plan('coding-1-0'));
  const b = instructions('You are the planner.', plan('coding-1-1'));
  assert.notEqual(a, b, 'the noise differs per session');
  assert.equal(n(a), n(b));
  const step = {
    agent: 'planner',
    stage: 0,
    prefix: 'p',
    prefixTokens: 1,
    history: false,
    newTokens: 1,
    outputTokens: 1,
    afterS: 0,
  };
  assert.deepEqual([...clientHeaders('native', plan('s'), step).keys()], ['x-claude-code-session-id']);
  assert.equal(clientHeaders('none', plan('s'), step).size, 0);
  assert.equal(clientHeaders('headers', plan('s'), step).get('x-pythia-agent'), 'planner');
});
