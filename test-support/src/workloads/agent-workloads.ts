// Generators for the two agent workflows the bench and the profiler tests use. Shapes and
// sizes are documented assumptions drawn from public agent traces (see docs/bench.md, Workloads):
//
// coding:   planner -> explorer x3-4 (parallel) -> engineer loop x3-6 (each followed by an
//           executor/tool step of 2-8 s) -> reviewer -> verifier
// research: planner -> searcher x4-6 (parallel, each followed by 1-4 s of web fetch) ->
//           summariser x2-3 (parallel) -> writer
//
// Every role has its own system prompt (a shared prefix across sessions) and its own
// output-length distribution (log-normal, clamped); prompts carry the growing session
// history where the role reads it.
import { exponential, intBetween, logNormal, seededRandom } from './rng.js';
import type { SessionPlan, StepPlan } from './session-plan.js';

export interface RoleSpec {
  readonly systemTokens: number;
  readonly newTokens: readonly [number, number];
  /** Output tokens: median, sigma, min, max. */
  readonly output: readonly [number, number, number, number];
  readonly history: boolean;
}

export const CODING_ROLES: Readonly<Record<string, RoleSpec>> = {
  planner: { systemTokens: 2400, newTokens: [300, 900], output: [350, 0.35, 80, 900], history: false },
  explorer: { systemTokens: 1800, newTokens: [200, 600], output: [220, 0.4, 40, 700], history: true },
  engineer: { systemTokens: 3200, newTokens: [400, 1600], output: [700, 0.45, 100, 2000], history: true },
  reviewer: { systemTokens: 2000, newTokens: [200, 500], output: [300, 0.35, 60, 800], history: true },
  verifier: { systemTokens: 900, newTokens: [100, 300], output: [60, 0.3, 10, 160], history: true },
};

export const RESEARCH_ROLES: Readonly<Record<string, RoleSpec>> = {
  planner: { systemTokens: 2000, newTokens: [200, 600], output: [300, 0.35, 60, 800], history: false },
  searcher: { systemTokens: 1400, newTokens: [600, 2400], output: [180, 0.4, 30, 600], history: false },
  summariser: { systemTokens: 1200, newTokens: [300, 800], output: [450, 0.4, 80, 1200], history: true },
  writer: { systemTokens: 2600, newTokens: [200, 600], output: [1400, 0.35, 300, 3500], history: true },
};

export interface WorkloadOptions {
  readonly sessions: number;
  /** Mean session arrival rate (Poisson), sessions per second. */
  readonly ratePerS: number;
  readonly seed: number;
  readonly model?: string;
  /** Arrivals come in bursts of this many sessions at once (1: plain Poisson). */
  readonly burst?: number;
}

function step(
  random: () => number,
  workflow: string,
  roles: Readonly<Record<string, RoleSpec>>,
  agent: string,
  stage: number,
  afterS: number,
): StepPlan {
  const spec = roles[agent] as RoleSpec;
  const [median, sigma, min, max] = spec.output;
  return {
    agent,
    stage,
    prefix: `sys-${workflow}-${agent}`,
    prefixTokens: spec.systemTokens,
    history: spec.history,
    newTokens: intBetween(random, spec.newTokens[0], spec.newTokens[1]),
    outputTokens: logNormal(random, median, sigma, min, max),
    afterS,
  };
}

/** Session arrival times: Poisson at `ratePerS`, in bursts of `burst` sessions. */
export function arrivals(options: WorkloadOptions, random: () => number): number[] {
  const burst = Math.max(1, options.burst ?? 1);
  const times: number[] = [];
  let t = 0;
  while (times.length < options.sessions) {
    for (let i = 0; i < burst && times.length < options.sessions; i++) times.push(t);
    t += exponential(random, burst / options.ratePerS);
  }
  return times;
}

export function codingWorkload(options: WorkloadOptions): SessionPlan[] {
  const random = seededRandom(options.seed);
  return arrivals(options, random).map((arrivalS, i) => {
    const steps: StepPlan[] = [];
    let stage = 0;
    steps.push(step(random, 'coding', CODING_ROLES, 'planner', stage++, 0.2));
    const explorers = intBetween(random, 3, 4);
    for (let e = 0; e < explorers; e++)
      steps.push(step(random, 'coding', CODING_ROLES, 'explorer', stage, 0.5));
    stage++;
    const loops = intBetween(random, 3, 6);
    for (let l = 0; l < loops; l++) {
      steps.push(step(random, 'coding', CODING_ROLES, 'engineer', stage++, 2 + random() * 6));
    }
    steps.push(step(random, 'coding', CODING_ROLES, 'reviewer', stage++, 0.3));
    steps.push(step(random, 'coding', CODING_ROLES, 'verifier', stage, 0));
    return {
      workflow: 'coding',
      session: `coding-${options.seed}-${i}`,
      arrivalS,
      ...(options.model ? { model: options.model } : {}),
      steps,
    };
  });
}

export function researchWorkload(options: WorkloadOptions): SessionPlan[] {
  const random = seededRandom(options.seed + 7919);
  return arrivals(options, random).map((arrivalS, i) => {
    const steps: StepPlan[] = [];
    steps.push(step(random, 'research', RESEARCH_ROLES, 'planner', 0, 0.2));
    const searchers = intBetween(random, 4, 6);
    for (let s = 0; s < searchers; s++)
      steps.push(step(random, 'research', RESEARCH_ROLES, 'searcher', 1, 1 + random() * 3));
    const summarisers = intBetween(random, 2, 3);
    for (let s = 0; s < summarisers; s++)
      steps.push(step(random, 'research', RESEARCH_ROLES, 'summariser', 2, 0.2));
    steps.push(step(random, 'research', RESEARCH_ROLES, 'writer', 3, 0));
    return {
      workflow: 'research',
      session: `research-${options.seed}-${i}`,
      arrivalS,
      ...(options.model ? { model: options.model } : {}),
      steps,
    };
  });
}
