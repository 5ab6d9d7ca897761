// Session KV retention from workflow knowledge (issue 14 item 0): when the learned model says
// the session goes on, and to whom, a request asks its model server to keep its KV after it
// ends, for the tool time the profiler measured after this agent's stage (plus, for a fan-out,
// its siblings' remaining run), so the next agent's request finds the session's context
// still there instead of recomputing it after other traffic evicted it. A fixed TTL (what a
// client or a peer router can set) holds memory for sessions that end, and lets go too early
// after slow tools; ours follows each agent's measured tool time and is not sent when the
// session is predicted to end. The session's last request releases what it holds (TTL 0).
// Engines take it as NVIDIA Dynamo's `nvext.session_control` (SGLang streaming sessions),
// Continuum's tool-call TTL, or the simulator's retention hint.
import type { AgentStats } from '../../../../core/src/workflow/workflow-model.js';
import type { Prediction } from '../../../../core/src/workflow/predictor.js';

export interface RetentionSettings {
  /** Retain only when the most likely next agent has at least this probability. */
  readonly minProbability: number;
  /** Added to the measured tool time (the next request's routing and admission). */
  readonly marginMs: number;
  /** Longest retention asked for. */
  readonly maxTtlMs: number;
}

/** Keep this request's KV for `ttlMs` after it ends for the next request of `key`; 0: release. */
export interface RetentionRequest {
  readonly key: string;
  readonly ttlMs: number;
}

export interface RetentionFacts {
  readonly session: string;
  /** The request carries the session's end marker. */
  readonly sessionEnd: boolean;
  /** The prediction in force (null: none). */
  readonly prediction: Prediction | null;
  /** Whether the workflow is proactive and the session on its learned automaton. */
  readonly proactive: boolean;
  /** This agent's learned figures (tool time after its stage, request duration). */
  readonly agent: AgentStats | undefined;
  /** Other requests of the session in flight: this one may end before its stage does. */
  readonly siblingsInFlight: number;
}

export function retentionFor(f: RetentionFacts, s: RetentionSettings): RetentionRequest | null {
  if (f.sessionEnd) return { key: f.session, ttlMs: 0 };
  if (!f.proactive || !f.prediction || !f.agent) return null;
  const next = f.prediction.nextAgents[0];
  if (!next || next.probability < s.minProbability) return null;
  // The stage ends with its slowest request: a sibling that finishes first waits about one
  // request duration longer for the next stage to start.
  const stageRest = f.siblingsInFlight > 0 ? f.agent.durationP50Ms : 0;
  const ttlMs = Math.min(s.maxTtlMs, f.agent.toolTimeP90Ms + stageRest + s.marginMs);
  return ttlMs > 0 ? { key: f.session, ttlMs } : null;
}
