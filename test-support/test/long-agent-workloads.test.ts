// Shapes of the long-context agent workloads: turn counts, context growth, page sizes, thread
// isolation, real prefix reuse between turns, determinism per seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockHashes, type Run } from '../../bench/src/sim/token-streams.js';
import {
  CODING_LONG_TURNS,
  RESEARCH_LONG,
  codingLongWorkload,
  codingToolTimeS,
  researchLongWorkload,
} from '../src/workloads/long-agent-workloads.js';
import { seededRandom } from '../src/workloads/rng.js';
import { SessionHistory, type SessionPlan, type StepPlan, stagesOf } from '../src/workloads/session-plan.js';

const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

/** Every step's prompt as token runs, the way the simulated cluster builds it. */
function prompts(plan: SessionPlan): Array<{ step: StepPlan; runs: Run[]; output: Run }> {
  const history = new SessionHistory<Run>();
  const out: Array<{ step: StepPlan; runs: Run[]; output: Run }> = [];
  stagesOf(plan).forEach((steps, stage) => {
    const done = steps.map((step, k) => {
      const fresh = { key: `${stage}.${k}:new`, tokens: step.newTokens };
      const output = { key: `${stage}.${k}:out`, tokens: step.outputTokens };
      out.push({
        step,
        runs: [{ key: step.prefix, tokens: step.prefixTokens }, ...history.context(step), fresh],
        output,
      });
      return { step, fresh, output };
    });
    for (const d of done) history.record(d.step, d.fresh, d.output);
  });
  return out;
}

const tokens = (runs: Run[]) => runs.reduce((a, r) => a + r.tokens, 0);

test('coding-long: 20-60 calls, observations of 0.5-10k fresh tokens, contexts growing to ~20-100k', () => {
  const plans = codingLongWorkload({ sessions: 400, ratePerS: 1, seed: 3 });
  const calls = plans.map((p) => p.steps.length);
  assert.equal(Math.min(...calls), CODING_LONG_TURNS[0]);
  assert.equal(Math.max(...calls), CODING_LONG_TURNS[1]);
  const observations = plans.flatMap((p) =>
    p.steps.filter((s) => s.agent === 'coder').map((s) => s.newTokens),
  );
  assert.ok(Math.min(...observations) >= 500 && Math.max(...observations) <= 10_000);
  assert.ok(quantile(observations, 0.5) > 700 && quantile(observations, 0.5) < 1100, 'median ~850');
  assert.ok(quantile(observations, 0.9) > 1800, 'a heavy tail, as measured appends have');
  const largest = plans.map((p) => Math.max(...prompts(p).map((x) => tokens(x.runs))));
  assert.ok(quantile(largest, 0.05) >= 20_000, `p5 of the largest context ${quantile(largest, 0.05)}`);
  assert.ok(quantile(largest, 0.95) <= 110_000, `p95 of the largest context ${quantile(largest, 0.95)}`);
  assert.ok(quantile(largest, 0.5) > 50_000, 'the typical session ends past 50k');
  for (const plan of plans.slice(0, 20)) {
    const coder = prompts(plan).filter((x) => x.step.agent === 'coder');
    for (let i = 1; i < coder.length; i++) {
      const before = coder[i - 1] as (typeof coder)[number];
      const now = coder[i] as (typeof coder)[number];
      // Each turn carries the previous turn's whole prompt and output, then the new observation.
      assert.equal(tokens(now.runs), tokens(before.runs) + before.output.tokens + now.step.newTokens);
    }
  }
});

test('coding-long: consecutive turns share every full block of the previous prompt and output', () => {
  const [plan] = codingLongWorkload({ sessions: 1, ratePerS: 1, seed: 5 });
  const coder = prompts(plan as SessionPlan).filter((x) => x.step.agent === 'coder');
  for (let i = 1; i < coder.length; i++) {
    const before = coder[i - 1] as (typeof coder)[number];
    const previousFull = blockHashes([...before.runs, before.output], 16);
    const now = blockHashes((coder[i] as (typeof coder)[number]).runs, 16);
    assert.deepEqual(now.slice(0, previousFull.length), previousFull);
    assert.ok(now.length > previousFull.length, 'the observation adds fresh blocks');
  }
});

test('coding-long: tool time matches the trace it is fitted to (86% under 1 s, 95% under 10 s)', () => {
  const random = seededRandom(11);
  const times = Array.from({ length: 20_000 }, () => codingToolTimeS(random));
  const under = (s: number) => times.filter((t) => t < s).length / times.length;
  assert.ok(Math.abs(under(1) - 0.865) < 0.02, `under 1 s: ${under(1)}`);
  assert.ok(Math.abs(under(10) - 0.951) < 0.02, `under 10 s: ${under(10)}`);
});

test('research-long: 3-5 searchers reading 2-3 pages of 5-30k each in their own thread; a writer over 30-60k', () => {
  const plans = researchLongWorkload({ sessions: 300, ratePerS: 1, seed: 4 });
  for (const plan of plans) {
    const all = prompts(plan);
    const searchers = new Map<string, typeof all>();
    for (const x of all.filter((y) => y.step.agent === 'searcher')) {
      const list = searchers.get(x.step.thread ?? '') ?? [];
      list.push(x);
      searchers.set(x.step.thread ?? '', list);
    }
    assert.ok(searchers.size >= RESEARCH_LONG.searchers[0] && searchers.size <= RESEARCH_LONG.searchers[1]);
    const planner = all[0] as (typeof all)[number];
    for (const turns of searchers.values()) {
      assert.ok(turns.length >= RESEARCH_LONG.pages[0] && turns.length <= RESEARCH_LONG.pages[1]);
      turns.forEach((t, i) => {
        // A page of 5-30k (the first turn also carries the task brief of at most 1k).
        assert.ok(t.step.newTokens >= 5000 && t.step.newTokens <= (i === 0 ? 31_000 : 30_000));
        // Its own earlier pages and notes only: no plan, no other searcher's pages or notes.
        const own = turns.slice(0, i).reduce((a, u) => a + u.step.newTokens + u.output.tokens, 0);
        assert.equal(tokens(t.runs), t.step.prefixTokens + own + t.step.newTokens);
      });
    }
    const writer = all.find((x) => x.step.agent === 'writer');
    assert.ok(writer);
    const notes = [...searchers.values()].flat().reduce((a, u) => a + u.output.tokens, 0);
    const read = writer.step.prefixTokens + planner.step.newTokens + planner.output.tokens + notes;
    assert.equal(tokens(writer.runs), read + writer.step.newTokens, 'the writer reads notes, not pages');
    assert.ok(tokens(writer.runs) >= 30_000 && tokens(writer.runs) <= Math.max(60_000, read + 1000));
  }
});

test('the long workloads are deterministic per seed and differ across seeds', () => {
  for (const generate of [codingLongWorkload, researchLongWorkload]) {
    const a = generate({ sessions: 20, ratePerS: 2, seed: 7, burst: 4 });
    assert.deepEqual(a, generate({ sessions: 20, ratePerS: 2, seed: 7, burst: 4 }));
    assert.notDeepEqual(a, generate({ sessions: 20, ratePerS: 2, seed: 8, burst: 4 }));
  }
});

test('session history: publish all/output/none and threads decide what later steps read', () => {
  const step = (extra: Partial<StepPlan>): StepPlan => ({
    agent: 'a',
    stage: 0,
    prefix: 'p',
    prefixTokens: 0,
    history: true,
    newTokens: 0,
    outputTokens: 0,
    afterS: 0,
    ...extra,
  });
  const h = new SessionHistory<string>();
  h.record(step({}), 'n1', 'o1');
  h.record(step({ publish: 'output', thread: 't' }), 'page', 'notes');
  h.record(step({ publish: 'none', thread: 'u' }), 'secret', 'scratch');
  assert.deepEqual(h.context(step({})), ['n1', 'o1', 'notes']);
  assert.deepEqual(h.context(step({ thread: 't' })), ['n1', 'o1', 'notes', 'page', 'notes']);
  assert.deepEqual(h.context(step({ thread: 'u', history: false })), ['secret', 'scratch']);
  assert.deepEqual(h.context(step({ history: false })), []);
});
