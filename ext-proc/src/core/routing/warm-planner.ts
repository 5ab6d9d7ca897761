// The speculative cache manager's decisions: when a session's stage completes and its
// next agent is predicted with enough probability, choose the endpoint that will serve it
// now, reserve it for the session, and warm that agent's prompt prefix there with a
// `max_tokens: 1` request (what works on real vLLM/SGLang), within budgets. Pure: the
// adapter sends what this returns.

import type { AgentPrompts } from './agent-prompts.js';
import type { EndpointState } from '../../../../core/src/cluster/cluster-state.js';
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';
import { chainedBlockHashes } from '../../../../core/src/prompt/prefix-hash.js';
import type { PrefixIndex } from './prefix-index.js';
import type { SchedulingDecision, SchedulingRequest } from '../scheduling/types.js';
import type { SessionAffinity } from './session-affinity.js';
import type { ChatMessage, HistoryEntry } from './session-history.js';

export interface WarmSettings {
  readonly minProbability: number;
  readonly maxPerEndpoint: number;
  readonly maxPerSecond: number;
  readonly busyWaiting: number;
  readonly reservationMs: number;
  readonly blockChars: number;
}

export interface WarmPlan {
  readonly endpoint: string;
  readonly pool: string;
  readonly model: string;
  readonly agent: string;
  /** The chat messages to send with max_tokens 1: the next agent's system prompt, then the session history. */
  readonly messages: ReadonlyArray<ChatMessage>;
  /** True when the session history is included. */
  readonly withHistory: boolean;
  /** vLLM `priority` body field, set for pools that schedule by priority. */
  readonly priority?: number;
}

/** The OpenAI chat body of a warm request: prefill the prompt, generate one token. */
export function warmBody(plan: WarmPlan): string {
  return JSON.stringify({
    model: plan.model,
    messages: plan.messages,
    max_tokens: 1,
    stream: false,
    ...(plan.priority === undefined ? {} : { priority: plan.priority }),
  });
}

export type WarmSkip =
  | 'low_probability'
  | 'no_prompt'
  | 'already_cached'
  | 'busy'
  | 'not_worth'
  | 'endpoint_budget'
  | 'rate_budget'
  | 'no_endpoint';

/** The endpoint reserved for the next agent (set once a placement was found, warmed or not). */
export interface WarmReservation {
  readonly endpoint: string;
  readonly untilMs: number;
}

export type WarmOutcome =
  | {
      readonly kind: 'warm';
      readonly plan: WarmPlan;
      readonly reserved: WarmReservation;
      /** The prefix blocks the warm places on the endpoint. */
      readonly hashes: readonly number[];
    }
  | { readonly kind: 'skip'; readonly reason: WarmSkip; readonly reserved?: WarmReservation };

export class WarmPlanner {
  private readonly inFlight = new Map<string, number>();
  private tokens: number;
  private lastRefillMs = 0;

  constructor(
    private readonly settings: WarmSettings,
    private readonly prompts: AgentPrompts,
    private readonly prefixIndex: PrefixIndex,
    private readonly sessions: SessionAffinity,
    private readonly endpoint: (address: string) => EndpointState | undefined,
  ) {
    this.tokens = settings.maxPerSecond;
  }

  private takeRateToken(nowMs: number): boolean {
    this.tokens = Math.min(
      this.settings.maxPerSecond,
      this.tokens + ((nowMs - this.lastRefillMs) / 1000) * this.settings.maxPerSecond,
    );
    this.lastRefillMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * `decide` places a hypothetical request of the next agent (the same scheduler and
   * profile as the real one will use, so the reservation is where it would go anyway).
   */
  plan(
    session: WorkflowIdentity,
    next: { agent: string; probability: number },
    outputBound: number | null,
    decide: (request: SchedulingRequest) => SchedulingDecision | null,
    nowMs: number,
    history: HistoryEntry | null = null,
  ): WarmOutcome {
    if (next.probability < this.settings.minProbability) return { kind: 'skip', reason: 'low_probability' };
    const prompt = this.prompts.get(session.workflow, next.agent);
    if (!prompt) return { kind: 'skip', reason: 'no_prompt' };
    // The history is part of the prefix only on the same model (another model's cache is elsewhere).
    const withHistory = history !== null && history.model === prompt.model;
    const messages: ChatMessage[] = [
      { role: 'system', content: prompt.system },
      ...(withHistory ? history.messages : []),
    ];
    const text = messages.map((m) => `${m.role}\u0000${m.content}`).join('\u0000');
    const hashes = chainedBlockHashes(text, this.settings.blockChars);
    const decision = decide({
      model: prompt.model,
      identity: { workflow: session.workflow, session: session.session, agent: next.agent },
      promptTokens: Math.ceil(text.length / 4),
      maxTokens: null,
      prefixHashes: hashes,
      outputBound,
      outputExpected: null,
      overflow: 0,
      // Placed like the next stage's first request (its siblings follow the reservation).
      siblingsInFlight: 0,
    });
    if (!decision) return { kind: 'skip', reason: 'no_endpoint' };
    // Where the next step will run is decided now: reserve it, warmed or not.
    const reserved = { endpoint: decision.endpoint, untilMs: nowMs + this.settings.reservationMs };
    this.sessions.reserve(
      session.workflow,
      session.session,
      next.agent,
      decision.endpoint,
      reserved.untilMs,
      nowMs,
    );
    const held =
      this.prefixIndex.matchLengths(hashes, [decision.endpoint], nowMs).get(decision.endpoint) ?? 0;
    if (hashes.length > 0 && held >= hashes.length)
      return { kind: 'skip', reason: 'already_cached', reserved };
    const ep = this.endpoint(decision.endpoint);
    if (ep && ep.waiting >= this.settings.busyWaiting) return { kind: 'skip', reason: 'busy', reserved };
    // Sent only when the expected prefill saved exceeds its cost at the target's load: used,
    // it takes the prefill of the blocks not held there off the next request's path (with
    // the prediction's probability); wasted, that prefill stalled each request running there.
    const fresh = hashes.length - held;
    const batch = ep ? Math.max(ep.running, ep.inFlight) : 0;
    if (next.probability * fresh <= (1 - next.probability) * batch * fresh)
      return { kind: 'skip', reason: 'not_worth', reserved };
    if ((this.inFlight.get(decision.endpoint) ?? 0) >= this.settings.maxPerEndpoint)
      return { kind: 'skip', reason: 'endpoint_budget', reserved };
    if (!this.takeRateToken(nowMs)) return { kind: 'skip', reason: 'rate_budget', reserved };
    this.inFlight.set(decision.endpoint, (this.inFlight.get(decision.endpoint) ?? 0) + 1);
    this.prefixIndex.record(hashes, decision.endpoint, nowMs);
    return {
      kind: 'warm',
      reserved,
      hashes,
      plan: {
        endpoint: decision.endpoint,
        pool: decision.pool,
        model: prompt.model,
        agent: next.agent,
        messages,
        withHistory,
      },
    };
  }

  /**
   * Another replica sent a warm: it spends this replica's rate budget too, so
   * `max_per_second` holds for the replicas together, as for one.
   */
  remoteWarm(nowMs: number): void {
    this.takeRateToken(nowMs);
  }

  /** The adapter reports a warm request finished (either way). */
  done(endpoint: string): void {
    const n = this.inFlight.get(endpoint) ?? 0;
    if (n <= 1) this.inFlight.delete(endpoint);
    else this.inFlight.set(endpoint, n - 1);
  }
}
