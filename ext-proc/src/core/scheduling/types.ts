// The scheduling framework's contracts, in the spirit of the Gateway API Inference
// Extension's endpoint picker: filters narrow the candidates, weighted scorers rate each
// survivor in [0,1], a picker chooses. Everything here is pure: state comes in as a
// snapshot, time and randomness through the context.
import type { EndpointState } from '../../../../core/src/cluster/cluster-state.js';
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';
import type { PrefixIndex } from '../routing/prefix-index.js';
import type { SessionAffinity } from '../routing/session-affinity.js';

export interface SchedulingRequest {
  readonly model: string;
  readonly identity: WorkflowIdentity | null;
  /** Prompt size estimate in tokens (bytes / 4 when nothing better is known). */
  readonly promptTokens: number;
  readonly maxTokens: number | null;
  /** Chained hashes of the prompt's blocks (empty when not computed). */
  readonly prefixHashes: readonly number[];
  /** Predicted output bound (the p99), null without a prediction. */
  readonly outputBound: number | null;
  /** Expected output (the median), null without a prediction. */
  readonly outputExpected: number | null;
  /** Probability that the output outgrows `outputBound`. */
  readonly overflow: number;
  /** Other requests of the same session in flight: parallel siblings of a fan-out stage. */
  readonly siblingsInFlight: number;
}

export interface Candidate {
  readonly endpoint: EndpointState;
}

export interface SchedulingSettings {
  readonly overflowThreshold: number;
  readonly defaultOutputTokens: number;
}

export interface SchedulingContext {
  /** Uniform [0,1); injected so decisions are reproducible in tests and the bench. */
  readonly random: () => number;
  readonly nowMs: () => number;
  readonly prefixIndex: PrefixIndex;
  readonly sessions: SessionAffinity;
  readonly settings: SchedulingSettings;
}

export interface Filter {
  readonly name: string;
  filter(request: SchedulingRequest, candidates: readonly Candidate[], ctx: SchedulingContext): Candidate[];
}

export interface Scorer {
  readonly name: string;
  /** One score in [0,1] per candidate, same order. */
  score(request: SchedulingRequest, candidates: readonly Candidate[], ctx: SchedulingContext): number[];
}

export interface WeightedScorer {
  readonly scorer: Scorer;
  readonly weight: number;
}

export interface Picker {
  readonly name: string;
  /** Index into candidates, best first, as many as asked (primary plus fallbacks). */
  pick(totals: readonly number[], count: number, ctx: SchedulingContext): number[];
}

/** What a plugin reads beyond the basic request, so the router computes it only when asked. */
export interface PluginNeeds {
  /** `SchedulingRequest.prefixHashes`: hashing the whole prompt costs on the hot path. */
  readonly prefixHashes?: boolean;
}

export interface Profile {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: Picker;
  /** The union of its plugins' needs. */
  readonly needs: Required<PluginNeeds>;
}

export interface PluginTrace {
  readonly plugin: string;
  /** Filters: candidates left. Scorers: score per surviving endpoint address. */
  readonly remaining?: number;
  readonly scores?: Readonly<Record<string, number>>;
}

export interface SchedulingDecision {
  readonly pool: string;
  readonly endpoint: string;
  readonly fallbacks: readonly string[];
  readonly profile: string;
  readonly trace: readonly PluginTrace[];
}

/** KV tokens a request may need on its endpoint: prompt plus its output bound (or a guess). */
export function requestFootprint(request: SchedulingRequest, settings: SchedulingSettings): number {
  const output = request.outputBound ?? request.maxTokens ?? settings.defaultOutputTokens;
  return request.promptTokens + output;
}
