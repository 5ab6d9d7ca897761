// Request priority after the paper: requests nearer the end of their workflow and requests
// that alone hold up their session's next stage go first. The Envoy edge sends it as
// x-pythia-priority and, for pools configured for it, as vLLM's `priority` body field, where
// a LOWER value runs first; so the score is mapped to 0 (most urgent) .. 100.
import type { Prediction } from '../../../../core/src/workflow/predictor.js';

export interface PrioritySettings {
  readonly remainingWeight: number;
  readonly unblockWeight: number;
  /** Aging: no request runs behind one aged from more than this after it; 0 turns aging off. */
  readonly agingBoundMs: number;
  /**
   * A workflow session's requests are aged from the session's start (oldest session first),
   * but from at most this long before their own arrival; 0: each from its own arrival.
   */
  readonly sessionAgeCapMs: number;
}

/** Priority for requests without a proactive prediction, when a pool wants the field set. */
export const NEUTRAL_PRIORITY = 50;

/** Priority of warm requests: behind every real request (they only save later prefill). */
export const WARM_PRIORITY = 100;

/**
 * score = w1 / (1 + E[remaining stages]) + w2 * [this request alone gates the next stage],
 * mapped to an integer where lower is more urgent.
 */
export function requestPriority(
  prediction: Prediction,
  gatesNextStage: boolean,
  s: PrioritySettings,
): number {
  const max = s.remainingWeight + s.unblockWeight;
  if (max <= 0) return NEUTRAL_PRIORITY;
  const score =
    s.remainingWeight / (1 + Math.max(0, prediction.expectedRemainingStages)) +
    (gatesNextStage ? s.unblockWeight : 0);
  return Math.round(100 * (1 - Math.min(1, score / max)));
}

/** Aged priorities count time from here (a fixed instant: every ext-proc replica agrees). */
const AGING_EPOCH_UNIX_MS = Date.UTC(2026, 0, 1);

/**
 * The instant a request is aged from: its session's start (a request of a session begun
 * earlier goes first), never more than `capMs` before its own arrival; its arrival without
 * a session. Ordering sessions rather than requests is what shortens mean JCT when the
 * engines queue (a burst): the oldest sessions finish instead of every session advancing a
 * step at a time, and it needs no model, so it also orders a workflow still being learned.
 * No starvation: a request is overtaken only by requests aged from less than the aging
 * bound after it, so at most by those of the sessions that began within the bound after its
 * own, and never by one that arrives more than cap + bound after it. The cap keeps a session
 * that never ends (one id reused for all of a client's traffic) from outranking new ones forever.
 */
export function agedFrom(arrivalUnixMs: number, sessionStartUnixMs: number | null, capMs: number): number {
  if (sessionStartUnixMs === null) return arrivalUnixMs;
  return Math.min(arrivalUnixMs, Math.max(sessionStartUnixMs, arrivalUnixMs - capMs));
}

/**
 * The vLLM `priority` for a request of `urgency` (0 most urgent .. 100) aged from
 * `nowUnixMs` (its arrival, or `agedFrom`): that instant in hundredths of the bound plus the
 * urgency. A request aged from later than the bound after another can never overtake it
 * (within one hundredth of the bound, the rounding); within the bound the more urgent goes
 * first. Without aging, the urgency alone.
 */
export function enginePriority(urgency: number, nowUnixMs: number, agingBoundMs: number): number {
  if (agingBoundMs <= 0) return urgency;
  return Math.floor((nowUnixMs - AGING_EPOCH_UNIX_MS) / (agingBoundMs / 100)) + urgency;
}
