// Request priority after the paper: requests nearer the end of their workflow and requests
// that alone hold up their session's next stage go first. The Envoy edge sends it as
// x-pythia-priority and, for pools configured for it, as vLLM's `priority` body field, where
// a LOWER value runs first; so the score is mapped to 0 (most urgent) .. 100.
import type { Prediction } from '../../../../core/src/workflow/predictor.js';

export interface PrioritySettings {
  readonly remainingWeight: number;
  readonly unblockWeight: number;
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
