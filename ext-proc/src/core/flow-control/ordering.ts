// The order held requests are released in: one static key per request (lower first, ties by
// arrival). Our orders age as the engine priority does: a session's requests from its start
// (capped, priority.ts agedFrom), urgency moving one up by at most the aging bound, so a held
// request is overtaken only by requests aged from less than the bound after it, never by one
// arriving more than cap + bound after it.
import type { FlowPolicy } from './settings.js';

export interface OrderFacts {
  readonly arrivalMs: number;
  /** When the request's session was first seen, at most the age cap before its arrival (its arrival without a session). */
  readonly sessionStartMs: number;
  /** How much releasing it first helps its workflow, in [0, 1] (0 without a prediction). */
  readonly urgency: number;
  readonly promptTokens: number;
}

/** `urgencyWindowMs`: how far (in session age) urgency can move a request up under workflow-aware. */
export function orderKey(policy: FlowPolicy, f: OrderFacts, urgencyWindowMs: number): number {
  switch (policy) {
    case 'fcfs':
      return f.arrivalMs;
    case 'oldest-session-first':
      return f.sessionStartMs;
    case 'workflow-aware':
      // Oldest session first, moved up by the request's urgency (the request that alone gates
      // its session's next stage, a session near its end) by up to the window.
      return f.sessionStartMs - urgencyWindowMs * f.urgency;
    case 'wspt':
      // Dynamo's weighted shortest processing time with unit weights: the shortest prompt
      // first (what a router knows without client hints).
      return f.promptTokens;
  }
}
