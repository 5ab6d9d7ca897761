// Request priority after the paper: requests nearer the end of their workflow and requests
// that alone hold up their session's next stage go first. The Envoy edge sends it as
// x-pythia-priority and, for pools configured for it, as vLLM's `priority` body field, where
// a LOWER value runs first; so the score is mapped to 0 (most urgent) .. 100.
import type { Prediction } from '../../../../core/src/workflow/predictor.js';

export interface PrioritySettings {
  readonly remainingWeight: number;
  readonly unblockWeight: number;
  /** Aging: no request runs behind one that arrived more than this after it; 0 turns aging off. */
  readonly agingBoundMs: number;
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
 * The vLLM `priority` for a request of `urgency` (0 most urgent .. 100) arriving at
 * `nowUnixMs`, aged: the arrival time in hundredths of the bound plus the urgency. A request
 * that arrives later than the bound after another can never overtake it, so none lags FCFS
 * by more than the bound (and one hundredth of it, the rounding); within the bound the more
 * urgent goes first. Without aging, the urgency alone.
 */
export function enginePriority(urgency: number, nowUnixMs: number, agingBoundMs: number): number {
  if (agingBoundMs <= 0) return urgency;
  return Math.floor((nowUnixMs - AGING_EPOCH_UNIX_MS) / (agingBoundMs / 100)) + urgency;
}
