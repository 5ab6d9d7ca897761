// Issue #13 items 1 and 9: the profiler's name limits are not first come, first served; junk
// names (live or restored from storage) never lock a real agent or workflow out; the kept
// sessions stay within their byte bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { ProfilerCore } from '../src/core/profiler-core.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { WorkflowLearner } from '../src/core/workflow-learner.js';
import { CORE_CONFIG } from './support.js';

const [base] = synthesizeTraces(codingWorkload({ sessions: 1, ratePerS: 1, seed: 1 }));
const T = base as Trace;
let ids = 0;

function trace(workflow: string, agent: string, session: string, atMs: number): Trace {
  return {
    ...T,
    requestId: `r${ids++}`,
    workflow,
    agent,
    session,
    startUnixMs: atMs,
    endUnixMs: atMs + 100,
    sessionEnd: true,
  };
}

function agentsOf(core: ProfilerCore<number>, workflow: string, nowMs: number): string[] {
  core.completeDue(nowMs + 10 * 60_000);
  core.rebuildDirty(nowMs);
  return (
    core
      .models()
      .find((m) => m.workflow === workflow)
      ?.agents.map((a) => a.agent) ?? []
  );
}

test('64 junk agent names, then the real planner keeps being learned while junk keeps coming', () => {
  const core = new ProfilerCore<number>({ ...CORE_CONFIG, maxAgentsPerWorkflow: 64 });
  let t = 1_000_000;
  for (let i = 0; i < 64; i++) core.ingest(trace('coding', `junk${i}`, `j${i}`, t++), 0, t);
  // The planner arrives; junk keeps arriving at five times its rate.
  for (let round = 0; round < 200; round++) {
    assert.equal(core.ingest(trace('coding', 'planner', `p${round}`, t++), 0, t).accepted, true);
    for (let k = 0; k < 5; k++)
      core.ingest(trace('coding', `junk-${round}-${k}`, `x${round}-${k}`, t++), 0, t);
  }
  const agents = agentsOf(core, 'coding', t);
  assert.ok(agents.includes('planner'), 'planner learned');
  assert.ok(agents.length <= 64, String(agents.length));
  const planner = core.models()[0]?.agents.find((a) => a.agent === 'planner');
  assert.equal(planner?.samples, 200, 'every planner request learned');
});

test('junk agent names restored from storage do not lock the planner out', () => {
  const core = new ProfilerCore<number>({ ...CORE_CONFIG, maxAgentsPerWorkflow: 64 });
  const t0 = 1_000_000;
  for (let i = 0; i < 64; i++)
    core.replay({
      workflow: 'coding',
      session: `stored${i}`,
      requests: [
        { agent: `junk${i}`, startUnixMs: t0, endUnixMs: t0 + 1, promptTokens: 1, outputTokens: 1, ok: true },
      ],
    });
  core.finishRestore();
  let t = t0 + 3_600_000;
  for (let i = 0; i < 50; i++) core.ingest(trace('coding', 'planner', `p${i}`, t++), 0, t);
  assert.ok(agentsOf(core, 'coding', t).includes('planner'));
});

test('1,000 junk workflow names, then a real workflow is learned', () => {
  const core = new ProfilerCore<number>({ ...CORE_CONFIG, maxWorkflows: 1000 });
  let t = 1_000_000;
  for (let i = 0; i < 1000; i++) core.ingest(trace(`junk${i}`, 'a', 's', t++), 0, t);
  assert.equal(core.workflows, 1000);
  for (let i = 0; i < 30; i++) {
    core.ingest(trace('research', 'planner', `s${i}`, t++), 0, t);
    core.ingest(trace(`junk-late${i}`, 'a', 's', t++), 0, t);
  }
  assert.ok(agentsOf(core, 'research', t).includes('planner'), 'the real workflow has a model');
  assert.equal(core.workflows, 1000);
});

test('a long-established workflow is not displaced by a flood of junk names', () => {
  const core = new ProfilerCore<number>({ ...CORE_CONFIG, maxWorkflows: 10 });
  let t = 1_000_000;
  for (let i = 0; i < 100; i++) core.ingest(trace('coding', 'planner', `s${i}`, t++), 0, t);
  for (let i = 0; i < 10_000; i++) core.ingest(trace(`junk${i}`, 'a', 's', t++), 0, t);
  assert.ok(agentsOf(core, 'coding', t).includes('planner'));
});

test('kept sessions stay within their byte bound, the newest kept', () => {
  const learner = new WorkflowLearner('coding', { ...CORE_CONFIG, sessionsKeptBytes: 20_000 });
  let t = 0;
  for (let s = 0; s < 1000; s++) {
    const traces = Array.from({ length: 10 }, (_, k) =>
      trace('coding', k % 2 === 0 ? `agent-with-a-long-name-${k}` : `a${k}`, `s${s}`, (t += 1000)),
    );
    learner.completeSession(traces);
    assert.ok(learner.keptSessions.bytes <= 20_000, String(learner.keptSessions.bytes));
  }
  const kept = learner.keptSessions.count;
  assert.ok(kept > 10 && kept < 1000, String(kept));
  assert.equal(learner.rebuild(t).model.roles.length > 0, true);
});
