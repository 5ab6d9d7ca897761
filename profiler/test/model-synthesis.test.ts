// The profiler core learns the generating structure of the bench's agent workloads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codingWorkload, researchWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { buildAutomaton } from '../../core/src/workflow/automaton.js';
import { formatNextAgents, IndexedModel } from '../../core/src/workflow/predictor.js';
import { ProfilerCore } from '../src/core/profiler-core.js';
import type { WorkflowModel } from '../../core/src/workflow/workflow-model.js';
import { CORE_CONFIG } from './support.js';

function learn(
  traces: ReturnType<typeof synthesizeTraces>,
  rebuildEvery = 50,
): { core: ProfilerCore<number>; models: WorkflowModel[] } {
  const core = new ProfilerCore<number>(CORE_CONFIG);
  let completed = 0;
  traces.forEach((t, i) => {
    core.ingest(t, i, t.endUnixMs);
    const done = core.completeDue(t.endUnixMs);
    completed += done.length;
    if (done.length > 0 && completed % rebuildEvery < done.length) core.rebuildDirty(t.endUnixMs);
  });
  core.completeDue(Number.MAX_SAFE_INTEGER);
  core.rebuildDirty(0);
  return { core, models: core.models() };
}

test('coding workload: regex, transitions and promotion', () => {
  const plans = codingWorkload({ sessions: 400, ratePerS: 2, seed: 1 });
  const { models } = learn(synthesizeTraces(plans));
  const model = models.find((m) => m.workflow === 'coding') as WorkflowModel;
  assert.equal(model.regex, 'planner explorer[3,4] engineer{3,6} reviewer verifier');
  assert.equal(model.sessions, 400);
  assert.equal(model.mode, 'proactive');
  const indexed = new IndexedModel(model);
  const afterPlanner = indexed.predict(['planner'], 'planner');
  assert.equal(afterPlanner.nextAgents[0]?.role, 'explorer');
  assert.ok(afterPlanner.expectedNextFanout > 3 && afterPlanner.expectedNextFanout < 4);
  assert.ok(
    Math.abs(afterPlanner.expectedRemainingStages - (1 + 4.5 + 2)) < 0.3,
    String(afterPlanner.expectedRemainingStages),
  );
  // After three engineer rounds, the loop continues with probability ~3/4 (uniform 3..6).
  const loop = indexed.predict(['planner', 'explorer', 'engineer', 'engineer', 'engineer'], 'engineer');
  const p = Object.fromEntries(loop.nextAgents.map((t) => [t.role, t.probability]));
  assert.ok((p['engineer'] ?? 0) > 0.65 && (p['engineer'] ?? 0) < 0.85, JSON.stringify(p));
  assert.ok((p['reviewer'] ?? 0) > 0.15);
  // After six, only the reviewer follows.
  const six = indexed.predict(['planner', 'explorer', ...Array(6).fill('engineer')], 'engineer');
  assert.equal(six.nextAgents[0]?.role, 'reviewer');
  assert.equal(six.nextAgents[0]?.probability, 1);
  assert.match(formatNextAgents(loop.nextAgents), /^engineer=0\.\d\d,reviewer=0\.\d\d$/);
  const verifier = indexed.predict(['planner', 'explorer', 'engineer', 'reviewer', 'verifier'], 'verifier');
  assert.equal(verifier.endProbability, 1);
  // Output bounds: the engineer's p99 sits above its median and covers ~99% of outputs.
  const engineer = model.agents.find((a) => a.agent === 'engineer');
  assert.ok(engineer && engineer.outputBound > engineer.outputP50 && engineer.outputBoundCoverage > 0.95);
  assert.ok(model.nextAgentAccuracy > 0.75, String(model.nextAgentAccuracy));
  const tool = model.agents.find((a) => a.agent === 'engineer')?.toolTimeP50Ms ?? 0;
  assert.ok(tool > 2000 && tool < 8000, `engineer tool time ${tool}`);
});

test('research workload: fan-outs are widths, not loops', () => {
  const { models } = learn(synthesizeTraces(researchWorkload({ sessions: 300, ratePerS: 2, seed: 2 })));
  const model = models.find((m) => m.workflow === 'research') as WorkflowModel;
  assert.equal(model.regex, 'planner searcher[4,6] summariser[2,3] writer');
  assert.equal(model.mode, 'proactive');
  const width = model.roles.find((r) => r.role === 'searcher');
  assert.deepEqual([width?.minWidth, width?.maxWidth], [4, 6]);
});

test('rare shapes are pruned from the regex and the automaton', () => {
  const plans = codingWorkload({ sessions: 200, ratePerS: 2, seed: 3 });
  // 2% of sessions skip the reviewer.
  const odd = plans.map((p, i) =>
    i % 50 === 0 ? { ...p, steps: p.steps.filter((s) => s.agent !== 'reviewer') } : p,
  );
  const { models } = learn(synthesizeTraces(odd));
  const model = models[0] as WorkflowModel;
  assert.equal(model.regex, 'planner explorer[3,4] engineer{3,6} reviewer verifier');
});

test('transitions below the threshold are pruned per state and the rest renormalised', () => {
  const sessions = [
    ...Array.from({ length: 97 }, () => ({ roles: ['a', 'b'], widths: [1, 1] })),
    ...Array.from({ length: 3 }, () => ({ roles: ['a', 'c'], widths: [1, 2] })),
  ];
  const { states } = buildAutomaton(sessions, 0.05);
  const a = states.find((s) => s.key === 'a#1');
  assert.deepEqual(a?.next, [{ role: 'b', probability: 1 }]);
  const kept = buildAutomaton(sessions, 0.02).states.find((s) => s.key === 'a#1');
  assert.deepEqual(
    kept?.next.map((t) => t.role),
    ['b', 'c'],
  );
});
