// Promotion, drift, idempotence and bounded memory of the profiler core.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { seededRandom } from '../../test-support/src/workloads/rng.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { ProfilerCore } from '../src/core/profiler-core.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { CORE_CONFIG } from './support.js';

function feed(core: ProfilerCore<number>, traces: readonly Trace[], rebuildEveryMs = 10_000): string[] {
  const modes: string[] = [];
  let lastRebuild = traces[0]?.endUnixMs ?? 0;
  traces.forEach((t, i) => {
    core.ingest(t, i, t.endUnixMs);
    core.completeDue(t.endUnixMs);
    if (t.endUnixMs - lastRebuild >= rebuildEveryMs) {
      lastRebuild = t.endUnixMs;
      for (const r of core.rebuildDirty(t.endUnixMs))
        if (r.modeChanged) modes.push(`${r.model.mode}@${r.model.sessions}`);
    }
  });
  return modes;
}

test('starts in shadow, is promoted, and is demoted when a new agent changes the workflow', () => {
  const core = new ProfilerCore<number>(CORE_CONFIG);
  const plans = codingWorkload({ sessions: 300, ratePerS: 1, seed: 11 });
  const modes = feed(core, synthesizeTraces(plans));
  assert.equal(modes[0]?.startsWith('proactive@'), true, modes.join(' '));
  const promotedAt = Number(modes[0]?.split('@')[1]);
  assert.ok(promotedAt >= CORE_CONFIG.promotion.minSessions, `promoted after ${promotedAt} sessions`);
  // Drift: every session now goes through a new "tester" agent after the explorers.
  const drifted = codingWorkload({ sessions: 300, ratePerS: 1, seed: 12 }).map((p) => ({
    ...p,
    session: `${p.session}-v2`,
    arrivalS: p.arrivalS + 400,
    steps: p.steps.map((s) => (s.agent === 'reviewer' ? { ...s, agent: 'tester' } : s)),
  }));
  const later = feed(core, synthesizeTraces(drifted));
  assert.equal(later[0]?.startsWith('shadow@'), true, `demoted on drift: ${later.join(' ')}`);
  assert.equal(later[1]?.startsWith('proactive@'), true, `re-promoted once relearned: ${later.join(' ')}`);
  assert.match(core.models()[0]?.regex ?? '', /tester/);
});

test('redelivered traces are deduplicated by request id and keep the newest ack token', () => {
  const core = new ProfilerCore<string>(CORE_CONFIG);
  const [t] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
  const trace = t as Trace;
  assert.deepEqual(core.ingest(trace, 'first', 0), { accepted: true });
  // Held with its session (acknowledged with it), under the newest token.
  assert.deepEqual(core.ingest(trace, 'second', 1), { accepted: true });
  const done = core.completeDue(10 * 60_000);
  assert.deepEqual(done[0]?.acks, ['second']);
  // Once its session is learned, a redelivery is a duplicate, acknowledged at once.
  assert.deepEqual(core.ingest(trace, 'third', 2), { accepted: false, reason: 'duplicate' });
  assert.equal(core.rejected.get('duplicate'), 1);
});

test('hostile input: invalid identifiers, unbounded sessions and agents stay bounded and counted', () => {
  const config = {
    ...CORE_CONFIG,
    maxOpenSessions: 1000,
    maxAgentsPerWorkflow: 8,
    maxWorkflows: 5,
    dedupeCapacity: 5000,
  };
  const core = new ProfilerCore<number>(config);
  const [base] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
  const t = base as Trace;
  assert.equal(
    core.ingest({ ...t, requestId: 'x1', exchange: 'x1', session: 'bad session!' }, 0, 0).accepted,
    false,
  );
  assert.equal(
    core.ingest({ ...t, requestId: 'x2', exchange: 'x2', workflow: 'w'.repeat(500) }, 0, 0).accepted,
    false,
  );
  assert.equal(core.rejected.get('invalid_identifier'), 2);
  // A million distinct sessions (in one workflow): open sessions stay at the bound.
  for (let i = 0; i < 1_000_000; i++) {
    core.ingest({ ...t, requestId: `r${i}`, exchange: `r${i}`, session: `s${i}` }, i, i);
    if (i % 100_000 === 0) core.completeDue(i);
  }
  assert.ok(core.openSessions <= 1000, String(core.openSessions));
  // Distinct agents and workflows beyond the bounds compete with the known ones (the name
  // tests below); existing, well-evidenced ones keep learning.
  for (let i = 0; i < 50; i++)
    core.ingest({ ...t, requestId: `a${i}`, exchange: `a${i}`, agent: `agent${i}` }, 0, 2_000_000);
  for (let i = 0; i < 20; i++)
    core.ingest({ ...t, requestId: `w${i}`, exchange: `w${i}`, workflow: `wf${i}` }, 0, 2_000_000);
  assert.equal(core.workflows, 5);
  core.completeDue(Number.MAX_SAFE_INTEGER);
  const models = core.rebuildDirty(0);
  assert.ok(models.some((m) => m.model.workflow === 'coding'));
});

test('a workflow that never repeats stays in shadow', () => {
  const core = new ProfilerCore<number>(CORE_CONFIG);
  const [base] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
  const t = base as Trace;
  const random = seededRandom(5);
  let n = 0;
  for (let s = 0; s < 200; s++) {
    for (let k = 0; k < 5; k++) {
      const agent = `a${Math.floor(random() * 29)}`;
      const start = s * 100_000 + k * 1000;
      core.ingest(
        {
          ...t,
          requestId: `n${n}`,
          exchange: `n${n++}`,
          session: `s${s}`,
          agent,
          startUnixMs: start,
          endUnixMs: start + 500,
        },
        0,
        start,
      );
    }
    core.completeDue(s * 100_000 + 70_000);
    if (s % 10 === 0) core.rebuildDirty(0);
  }
  assert.equal(core.rebuildDirty(0)[0]?.model.mode ?? 'shadow', 'shadow');
  assert.equal(core.models()[0]?.mode, 'shadow');
});
