// Stage segmentation by causality across ext-proc replicas. A session's next request may
// reach replica B before B has the end event of the request it follows (served by A: fast
// upstream, no tool time, events a few ms late). The conversation proves the order: its
// history answers the earlier request's last message, so B counts that request as ended and
// the new one opens the next stage, with the prediction and priority one replica gives it.
// Fan-out siblings, which share their instructions and conversation so far, still join.
// Also measures how many requests decide as on one replica with events late (diagnostics).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../test-support/src/workloads/rng.js';
import type { GatewayCore } from '../../ext-proc/src/core/routing/gateway-core.js';
import type { RouteInput } from '../../ext-proc/src/core/routing/route-input.js';
import type { RouteDecision } from '../../ext-proc/src/core/routing/route-decision.js';
import {
  CODING_SHAPE,
  codingInput,
  completedOk,
  replicaCores,
  seenByEnvoy,
} from '../../test-support/src/replica-decisions.js';

const replicas = replicaCores;

type Turn = { role: string; content: string };

/** The instruction a request adds to the conversation it is handed. */
const turn = (session: string, agent: string, step: number, k: number): Turn => ({
  role: 'user',
  content: `${session}: ${agent}, do step ${step}.${k}`,
});

/** A request of `agent` handed the session's conversation so far and its own instruction. */
function input(
  session: string,
  agent: string,
  step: number,
  k: number,
  conversation: readonly Turn[],
): RouteInput {
  return codingInput(session, agent, step, k, [...conversation, turn(session, agent, step, k)]);
}

const ok = completedOk;
const seen = seenByEnvoy;

const SHAPE = CODING_SHAPE;

interface Timing {
  /** Event delivery delay between cores. */
  readonly delayMs: number;
  /** Between the launches of a fan-out's siblings. */
  readonly siblingGapMs: number;
  /** From a stage's last launch to its requests' ends. */
  readonly runMs: number;
  /** From a stage's ends to the next stage's launch (tool time). */
  readonly toolMs: number;
  /** Whether each request carries the conversation so far (false: only its own turn). */
  readonly history: boolean;
}

/**
 * Plays 12 sessions one after the other, each request on a core drawn at random; each line
 * says what Envoy got, and whether the request is the first of its stage.
 */
function play(n: number, seed: number, t: Timing): Array<{ line: string; first: boolean }> {
  const { cores, advance } = replicas(n, t.delayMs);
  const pick = seededRandom(seed);
  const out: Array<{ line: string; first: boolean }> = [];
  for (let s = 0; s < 12; s++) {
    const session = `s${s}`;
    const conversation: Turn[] = [{ role: 'user', content: `the task of ${session}` }];
    for (const [step, stage] of SHAPE.entries()) {
      const running: Array<{ core: GatewayCore; inp: RouteInput; d: RouteDecision }> = [];
      for (const [k, agent] of stage.entries()) {
        if (k > 0) advance(t.siblingGapMs);
        const core = cores[Math.floor(pick() * n)] as GatewayCore;
        const inp = input(session, agent, step, k, t.history ? conversation : []);
        const d = core.router.route(inp);
        out.push({ line: `${session} ${step}.${k} ${agent}: ${seen(d)}`, first: k === 0 });
        running.push({ core, inp, d });
      }
      advance(t.runMs);
      for (const [k, r] of running.entries()) {
        const output = `${session}: ${stage[k]} ${step}.${k} says so`;
        r.core.router.complete(r.d, r.inp, ok(output));
        // The next stage is handed each sibling's instruction and answer.
        conversation.push(turn(session, stage[k] as string, step, k), { role: 'assistant', content: output });
      }
      advance(t.toolMs);
    }
    advance(1000);
  }
  return out;
}

/** Requests deciding as on one replica: all, and those opening a stage. */
function agreement(n: number, seed: number, t: Timing) {
  const one = play(1, seed, t);
  const many = play(n, seed, t);
  const same = many.filter((r, i) => r.line === one[i]?.line);
  return {
    same: same.length,
    all: one.length,
    firstSame: same.filter((r) => r.first).length,
    first: one.filter((r) => r.first).length,
    differing: many.flatMap((r, i) => (r.line === one[i]?.line ? [] : [`${r.line}\n  one: ${one[i]?.line}`])),
  };
}

test("a session's next request on another replica, before the previous request's end arrived there, decides as on one replica", () => {
  // Zero tool time, events 5 ms late; siblings 10 ms apart, so only ends arrive late.
  const t: Timing = { delayMs: 5, siblingGapMs: 10, runMs: 40, toolMs: 0, history: true };
  const { cores, advance } = replicas(2, t.delayMs);
  const [a, b] = cores as [GatewayCore, GatewayCore];
  const single = replicas(1, 0);
  const one = single.cores[0] as GatewayCore;
  const conversation: Turn[] = [{ role: 'user', content: 'the task' }];
  const planner = input('s', 'planner', 0, 0, conversation);
  const onA = a.router.route(planner);
  const onOne = one.router.route(planner);
  advance(t.runMs);
  single.advance(t.runMs);
  a.router.complete(onA, planner, ok('the plan'));
  one.router.complete(onOne, planner, ok('the plan'));
  conversation.push(turn('s', 'planner', 0, 0), { role: 'assistant', content: 'the plan' });
  // B has A's start but not yet its end.
  assert.equal(b.sessions.running({ workflow: 'coding', session: 's', agent: 'planner' }), 1);
  const explorer = input('s', 'explorer', 1, 0, conversation);
  const onB = seen(b.router.route(explorer));
  const single1 = seen(one.router.route(explorer));
  assert.match(single1, /x-pythia-next-agents=engineer/);
  assert.equal(onB, single1, 'the explorer opens the next stage on B as on one replica');
  // A's end arrives later and settles nothing twice: B's session has one request running.
  advance(t.delayMs);
  assert.equal(b.sessions.running({ workflow: 'coding', session: 's', agent: 'explorer' }), 1);
});

test('where the conversation proves nothing, a request the learned workflow has follow the stage decides as on one replica', () => {
  // The explorer is handed only its own instruction (a lead agent's sub-agent): nothing in it
  // answers the planner's request, whose end has not reached B yet.
  const { cores, advance } = replicas(2, 5);
  const [a, b] = cores as [GatewayCore, GatewayCore];
  const single = replicas(1, 0);
  const one = single.cores[0] as GatewayCore;
  const planner = input('s', 'planner', 0, 0, [{ role: 'user', content: 'the task' }]);
  const onA = a.router.route(planner);
  const onOne = one.router.route(planner);
  advance(40);
  single.advance(40);
  a.router.complete(onA, planner, ok('the plan'));
  one.router.complete(onOne, planner, ok('the plan'));
  const id = { workflow: 'coding', session: 's', agent: 'explorer' };
  assert.equal(b.sessions.running(id), 1, "B has A's start but not yet its end");
  const explorer = input('s', 'explorer', 1, 0, []);
  const single1 = seen(one.router.route(explorer));
  assert.match(single1, /x-pythia-next-agents=engineer/);
  assert.equal(
    seen(b.router.route(explorer)),
    single1,
    'the explorer opens the next stage on B as on one replica',
  );
  // A has B's start with the planner settled: one request runs there too, and once the
  // planner's end reaches B it settles nothing twice.
  advance(5);
  assert.equal(a.sessions.running(id), 1);
  assert.equal(b.sessions.running(id), 1);
});

test('a fan-out sibling that only shares the instructions and conversation so far still joins the stage', () => {
  const { cores, advance } = replicas(2, 1);
  const [a, b] = cores as [GatewayCore, GatewayCore];
  const single = replicas(1, 0);
  const one = single.cores[0] as GatewayCore;
  const history: Turn[] = [
    { role: 'user', content: 'the task' },
    { role: 'assistant', content: 'the plan' },
  ];
  const first = input('s', 'explorer', 1, 0, history);
  a.router.route(first);
  one.router.route(first);
  advance(2); // A's start has arrived at B; the first explorer still runs.
  single.advance(2);
  const second = input('s', 'explorer', 1, 1, history);
  const onB = seen(b.router.route(second));
  assert.equal(onB, seen(one.router.route(second)));
  assert.equal(b.sessions.running({ workflow: 'coding', session: 's', agent: 'explorer' }), 2, 'siblings');
});

test('with events late, requests that follow a stage decide as on one replica when the conversation proves the order', (t) => {
  const timings: Array<[string, Timing]> = [
    [
      'events 5 ms late, siblings 10 ms apart, no tool time',
      { delayMs: 5, siblingGapMs: 10, runMs: 40, toolMs: 0, history: true },
    ],
    [
      'events 20 ms late, siblings 3 ms apart, no tool time',
      { delayMs: 20, siblingGapMs: 3, runMs: 40, toolMs: 0, history: true },
    ],
    [
      'events 5 ms late, no history in the requests',
      { delayMs: 5, siblingGapMs: 10, runMs: 40, toolMs: 0, history: false },
    ],
  ];
  for (const [name, timing] of timings) {
    for (const n of [2, 4]) {
      let same = 0;
      let all = 0;
      let firstSame = 0;
      let first = 0;
      for (const seed of [1, 2, 3]) {
        const r = agreement(n, seed, timing);
        same += r.same;
        all += r.all;
        firstSame += r.firstSame;
        first += r.first;
      }
      t.diagnostic(`${name}, ${n} replicas: ${same}/${all} identical, opening a stage ${firstSame}/${first}`);
      t.diagnostic(agreement(n, 1, timing).differing.slice(0, 8).join('\n'));
      if (name.startsWith('events 5 ms late, siblings')) assert.equal(same, all, `${name}, ${n} replicas`);
    }
  }
});
