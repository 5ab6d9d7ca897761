// Request priority after the paper: requests nearer the end of their workflow and requests
// that alone hold up their session's next stage go first. Sent as x-pythia-priority and,
// for pools configured for it, as vLLM's `priority` body field, where a LOWER value runs
// first; so the score is mapped to 0 (most urgent) .. 100.
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

/**
 * The body with `priority` set. Without an existing top-level key the field is spliced in
 * after the opening brace, leaving the client's bytes as they were; otherwise the body is
 * re-serialised so ours wins (JSON parsers keep the last duplicate key).
 */
export function bodyWithPriority(body: Buffer, json: Record<string, unknown>, priority: number): Buffer {
  if (Object.hasOwn(json, 'priority')) return Buffer.from(JSON.stringify({ ...json, priority }));
  const open = body.indexOf(0x7b); // '{'
  if (open === -1) return body;
  return Buffer.concat([
    body.subarray(0, open + 1),
    Buffer.from(`"priority":${priority},`),
    body.subarray(open + 1),
  ]);
}
