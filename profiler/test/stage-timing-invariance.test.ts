// Property: what the profiler learns from a set of sessions does not depend on how fast the
// upstream answered or how long the tools took. The same sessions, replayed with upstream
// latencies from 1 ms to 60 s and tool gaps from 0 to 30 s, must give the same model (its
// structure, automaton, roles, mode, accuracy and output bounds; only timing statistics may
// differ). Before stages followed causality, a step answered within 50 ms of its stage's
// start was merged into it and the learned regex changed with the upstream's speed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Trace } from '../../core/src/wire/trace.js';
import type { WorkflowModel } from '../../core/src/workflow/workflow-model.js';
import { segmentStages } from '../../core/src/workflow/stages.js';
import { intBetween, seededRandom } from '../../test-support/src/workloads/rng.js';
import { buildOffline } from '../src/core/offline-build.js';
import { CORE_CONFIG } from './support.js';

/** One session's shape: stages of parallel requests, each with its agent and output size. */
type SessionPlan = ReadonlyArray<ReadonlyArray<{ agent: string; outputTokens: number }>>;

/** A support-triage workflow: classifier, 2-4 parallel searches, drafter/critic loop, finaliser. */
function plans(count: number, seed: number): SessionPlan[] {
  const random = seededRandom(seed);
  const out: SessionPlan[] = [];
  for (let i = 0; i < count; i++) {
    const stages: Array<Array<{ agent: string; outputTokens: number }>> = [
      [{ agent: 'classifier', outputTokens: 2 }],
    ];
    stages.push(
      Array.from({ length: intBetween(random, 2, 4) }, () => ({
        agent: 'kb_search',
        outputTokens: intBetween(random, 50, 300),
      })),
    );
    for (let round = intBetween(random, 1, 3); round > 0; round--) {
      stages.push([{ agent: 'drafter', outputTokens: intBetween(random, 200, 600) }]);
      stages.push([{ agent: 'critic', outputTokens: intBetween(random, 10, 80) }]);
    }
    if (random() < 0.8) stages.push([{ agent: 'finalizer', outputTokens: intBetween(random, 100, 400) }]);
    out.push(stages);
  }
  return out;
}

interface Timing {
  readonly name: string;
  /** Upstream latency of one request, start to last token. */
  latencyMs(random: () => number): number;
  /** Time between a stage's last response and the next stage's first request. */
  gapMs(random: () => number): number;
}

const logUniform = (random: () => number, lo: number, hi: number) =>
  Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));

const TIMINGS: Timing[] = [
  { name: 'instant upstream, no tool time', latencyMs: () => 1, gapMs: () => 0 },
  { name: 'instant upstream, 30 s tools', latencyMs: () => 1, gapMs: () => 30_000 },
  { name: '60 s upstream, no tool time', latencyMs: () => 60_000, gapMs: () => 0 },
  { name: '80 ms between stages', latencyMs: () => 40, gapMs: () => 80 },
  {
    name: 'mixed: latencies 1 ms-60 s, gaps 0-30 s',
    latencyMs: (r) => logUniform(r, 1, 60_000),
    gapMs: (r) => (r() < 0.3 ? 0 : logUniform(r, 1, 30_000)),
  },
];

/** Sessions start far apart so that every timing completes them in the same order. */
const SESSION_SPACING_MS = 10_000_000;

function traces(sessions: readonly SessionPlan[], timing: Timing, seed: number): Trace[] {
  const random = seededRandom(seed);
  const out: Trace[] = [];
  sessions.forEach((stages, s) => {
    let now = 1_000_000 + s * SESSION_SPACING_MS;
    stages.forEach((stage, st) => {
      // Siblings of a fan-out are launched together; each answers at its own speed.
      const start = now;
      let end = start;
      stage.forEach((req, k) => {
        const finish = start + timing.latencyMs(random);
        end = Math.max(end, finish);
        const last = st === stages.length - 1 && k === stage.length - 1;
        out.push(trace(`t${s}`, `${s}-${st}-${k}`, req.agent, req.outputTokens, start, finish, last));
      });
      now = end + timing.gapMs(random);
    });
  });
  return out;
}

function trace(
  session: string,
  requestId: string,
  agent: string,
  outputTokens: number,
  startUnixMs: number,
  endUnixMs: number,
  sessionEnd: boolean,
): Trace {
  return {
    requestId,
    exchange: requestId,
    workflow: 'triage',
    session,
    agent,
    model: 'llama',
    pool: 'pool',
    endpoint: '10.0.0.1:8000',
    promptTokens: 1000,
    cachedTokens: 0,
    outputTokens,
    outputTokensReported: true,
    queueMs: 0,
    firstTokenMs: 0,
    totalMs: endUnixMs - startUnixMs,
    startUnixMs,
    endUnixMs,
    status: 'OK',
    httpStatus: 200,
    promptBytes: 4000,
    sessionEnd,
    predictedAgent: '',
    predictedOutputTokens: 0,
    mode: '',
  };
}

/** The model without its timing statistics and build time. */
function learned(model: WorkflowModel): unknown {
  return {
    regex: model.regex,
    structure: model.structure,
    states: model.states,
    roles: model.roles,
    mode: model.mode,
    sessions: model.sessions,
    nextAgentAccuracy: model.nextAgentAccuracy,
    outputBoundCoverage: model.outputBoundCoverage,
    agents: model.agents.map((a) => ({
      agent: a.agent,
      samples: a.samples,
      outputBound: a.outputBound,
      outputP50: a.outputP50,
      nextAgentAccuracy: a.nextAgentAccuracy,
      outputBoundCoverage: a.outputBoundCoverage,
    })),
  };
}

test('the model learned from the same sessions is the same at any upstream latency and tool gap', () => {
  for (const seed of [1, 2, 3]) {
    const sessions = plans(60, seed);
    const models = TIMINGS.map((timing) => {
      const built = buildOffline(traces(sessions, timing, seed * 7), CORE_CONFIG);
      assert.equal(built.models.length, 1, timing.name);
      return { timing: timing.name, model: built.models[0] as WorkflowModel };
    });
    const [reference] = models;
    assert.ok(reference);
    assert.match(reference.model.regex, /classifier kb_search\[2,/, 'the fan-out is learned as one stage');
    assert.doesNotMatch(reference.model.regex, /\+/, 'no sequential step is merged into a parallel one');
    assert.equal(reference.model.mode, 'proactive', 'a regular workflow is learned well enough to act on');
    for (const { timing, model } of models.slice(1))
      assert.deepEqual(
        learned(model),
        learned(reference.model),
        `seed ${seed}: ${timing} vs ${reference.timing}`,
      );
  }
});

test('a sibling that ended before the next one was seen still joins its fan-out', () => {
  // Launched in one burst (same millisecond), the first answered in under a millisecond.
  const stages = segmentStages([
    { agent: 'planner', startMs: 0, endMs: 10 },
    { agent: 'explorer', startMs: 10, endMs: 10 },
    { agent: 'explorer', startMs: 10, endMs: 900 },
    { agent: 'writer', startMs: 900, endMs: 950 },
  ]);
  assert.deepEqual(
    stages.map((s) => [s.role, s.width]),
    [
      ['planner', 1],
      ['explorer', 2],
      ['writer', 1],
    ],
  );
});
