// Long-context agent workloads, sized after public traces of agents as users run them (each
// figure's source beside it; "assumed" marks where no public figure was found). Deterministic
// for a seed. Token counts are model tokens.
//
// coding-long (SWE-bench style): planner -> coder loop -> reviewer, 20-60 LLM calls in all. Every
//   coder turn reads the whole session so far (issue, plan, earlier actions and tool
//   observations) plus the newest tool observation, so consecutive turns share everything but
//   the observation; contexts grow to ~20-100k tokens.
// research-long (deep research): planner -> 3-5 parallel searchers, each given a task brief and
//   reading 2-3 fetched pages of 5-30k tokens in its own thread (it sees neither the plan nor the
//   other searchers) and publishing only its notes -> a writer over a 30-60k-token prompt
//   (question, plan, every searcher's notes and the evidence it quotes).
import { type WorkloadOptions, arrivals } from './agent-workloads.js';
import { intBetween, logNormal, seededRandom } from './rng.js';
import type { SessionPlan, StepPlan } from './session-plan.js';

/** Calls per coding session: uniform 20-60. Public SWE-agent/OpenHands trajectory sets average
 * 18.9-64.3 turns (nebius/SWE-rebench-openhands-trajectories dataset card: SWE-Gym OpenHands
 * 18.9, SWE-smith SWE-agent 30.2, mini-swe-agent-plus 34.3, OpenHands + Qwen3-Coder 64.3 with a
 * 100-turn cap); Continuum (arXiv 2511.02230) reports 10.9 turns for mini-swe-agent. */
export const CODING_LONG_TURNS: readonly [number, number] = [20, 60];

export const CODING_LONG = {
  /** System prompts with tool descriptions: ~3k tokens for a coding agent (assumed; OpenHands'
   * and SWE-agent's prompts with tool schemas are several thousand tokens). */
  plannerSystem: 3000,
  coderSystem: 4000,
  reviewerSystem: 2000,
  /** The issue text: SWE-bench problem statements average 195 words, max 4,477 (SWE-bench,
   * ICLR 2024, Table 1) -> log-normal, median 300 tokens. */
  issue: [300, 0.8, 80, 4000] as const,
  /** The plan the planner writes (assumed). */
  plan: [400, 0.4, 100, 1500] as const,
  /** A tool observation: 500 tokens of framing plus a log-normal body, at most 10k. Median ~850,
   * p90 ~2.4k, p99 ~7.7k; TraceLab (UW, Claude Code/Codex, 357k steps) measures fresh appended
   * tokens per step at 32-128k context of p50 0.8-1k and p90 3.7-8k. */
  observationFloor: 500,
  observationBody: [350, 1.3, 0, 9500] as const,
  /** One turn's output (thought plus tool call): median 220 (assumed; TraceLab averages 523
   * output tokens per step, reasoning included). */
  action: [220, 0.8, 30, 2000] as const,
  /** The reviewer reads the issue and the final diff, not the whole trajectory (assumed). */
  review: [2500, 0.6, 800, 8000] as const,
  reviewOutput: [300, 0.4, 60, 1000] as const,
};

/**
 * Tool time after a coder turn (sandboxed bash, edits, test runs): 87% fast calls (log-normal,
 * median 0.25 s) and 13% slow ones (median 8 s), fitted to the vLLM router RFC #285 coding-agent
 * trace: 86.5% of same-agent gaps under 1 s, 95.1% under 10 s.
 */
export function codingToolTimeS(random: () => number): number {
  const slow = random() < 0.13;
  const ms = slow ? logNormal(random, 8000, 0.8, 500, 120_000) : logNormal(random, 250, 0.7, 20, 5000);
  return ms / 1000;
}

function lognormalOf(random: () => number, spec: readonly [number, number, number, number]): number {
  return logNormal(random, spec[0], spec[1], spec[2], spec[3]);
}

export function codingLongWorkload(options: WorkloadOptions): SessionPlan[] {
  const random = seededRandom(options.seed + 15_485_863);
  const c = CODING_LONG;
  return arrivals(options, random).map((arrivalS, i) => {
    const calls = intBetween(random, CODING_LONG_TURNS[0], CODING_LONG_TURNS[1]);
    const steps: StepPlan[] = [
      {
        agent: 'planner',
        stage: 0,
        prefix: 'sys-coding-long-planner',
        prefixTokens: c.plannerSystem,
        history: false,
        newTokens: lognormalOf(random, c.issue),
        outputTokens: lognormalOf(random, c.plan),
        afterS: codingToolTimeS(random),
      },
    ];
    for (let t = 1; t <= calls - 2; t++) {
      steps.push({
        agent: 'coder',
        stage: t,
        prefix: 'sys-coding-long-coder',
        prefixTokens: c.coderSystem,
        history: true,
        newTokens: c.observationFloor + lognormalOf(random, c.observationBody),
        outputTokens: lognormalOf(random, c.action),
        afterS: codingToolTimeS(random),
      });
    }
    steps.push({
      agent: 'reviewer',
      stage: calls - 1,
      prefix: 'sys-coding-long-reviewer',
      prefixTokens: c.reviewerSystem,
      history: false,
      newTokens: lognormalOf(random, c.review),
      outputTokens: lognormalOf(random, c.reviewOutput),
      afterS: 0,
    });
    return {
      workflow: 'coding-long',
      session: `coding-long-${options.seed}-${i}`,
      arrivalS,
      ...(options.model ? { model: options.model } : {}),
      steps,
    };
  });
}

export const RESEARCH_LONG = {
  /** System prompts as in the short research workload (assumed). */
  plannerSystem: 2000,
  searcherSystem: 1400,
  writerSystem: 2600,
  question: [150, 0.6, 30, 1000] as const,
  plan: [500, 0.35, 150, 1500] as const,
  /** The lead agent's task description for one searcher, in its first turn (assumed). */
  brief: [300, 0.4, 80, 1000] as const,
  /** Parallel searchers: Anthropic's research system has its lead agent start 3-5 subagents in
   * parallel ("How we built our multi-agent research system", June 2025). */
  searchers: [3, 5] as const,
  /** Pages each searcher reads (assumed). */
  pages: [2, 3] as const,
  /** A fetched page as text: median 9k tokens, 5-30k. Measured pages: Wikipedia "Web scraping"
   * 7.3k text tokens, "Large language model" 31k (o200k tokenizer, dev.to "7x token tax",
   * 2026); Python's json docs ~8.6k; documentation pages ~6.5k as markdown. */
  page: [9000, 0.6, 5000, 30_000] as const,
  /** A searcher's notes on one page (assumed). */
  notes: [500, 0.5, 100, 2000] as const,
  /** Search and fetch before a page arrives: 1-4 s (assumed, as the short workload). */
  fetchS: [1, 4] as const,
  /** The writer's whole prompt: 30-60k tokens (uniform), its report median 2k tokens (assumed). */
  writerPrompt: [30_000, 60_000] as const,
  report: [2000, 0.35, 800, 5000] as const,
};

export function researchLongWorkload(options: WorkloadOptions): SessionPlan[] {
  const random = seededRandom(options.seed + 104_729);
  const r = RESEARCH_LONG;
  const fetch = () => r.fetchS[0] + random() * (r.fetchS[1] - r.fetchS[0]);
  return arrivals(options, random).map((arrivalS, i) => {
    const question = lognormalOf(random, r.question);
    const plan = lognormalOf(random, r.plan);
    const steps: StepPlan[] = [
      {
        agent: 'planner',
        stage: 0,
        prefix: 'sys-research-long-planner',
        prefixTokens: r.plannerSystem,
        history: false,
        newTokens: question,
        outputTokens: plan,
        afterS: fetch(),
      },
    ];
    const searchers = intBetween(random, r.searchers[0], r.searchers[1]);
    let maxPages = 0;
    let notesTotal = 0;
    for (let s = 0; s < searchers; s++) {
      const pages = intBetween(random, r.pages[0], r.pages[1]);
      maxPages = Math.max(maxPages, pages);
      for (let p = 0; p < pages; p++) {
        const notes = lognormalOf(random, r.notes);
        notesTotal += notes;
        const brief = p === 0 ? lognormalOf(random, r.brief) : 0;
        steps.push({
          agent: 'searcher',
          stage: 1 + p,
          prefix: 'sys-research-long-searcher',
          prefixTokens: r.searcherSystem,
          history: false,
          thread: `searcher-${s}`,
          publish: 'output',
          newTokens: brief + lognormalOf(random, r.page),
          outputTokens: notes,
          afterS: p + 1 < pages ? fetch() : 0,
        });
      }
    }
    // The writer reads the session (question, plan, every note) and the quoted evidence, sized
    // so that its whole prompt lands in 30-60k.
    const target = intBetween(random, r.writerPrompt[0], r.writerPrompt[1]);
    const read = r.writerSystem + question + plan + notesTotal;
    steps.push({
      agent: 'writer',
      stage: 1 + maxPages,
      prefix: 'sys-research-long-writer',
      prefixTokens: r.writerSystem,
      history: true,
      newTokens: Math.max(1000, target - read),
      outputTokens: lognormalOf(random, r.report),
      afterS: 0,
    });
    return {
      workflow: 'research-long',
      session: `research-long-${options.seed}-${i}`,
      arrivalS,
      ...(options.model ? { model: options.model } : {}),
      steps,
    };
  });
}
