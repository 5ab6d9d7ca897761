import type { Ranking } from '../flow-control/flow-controller.js';
import type { Candidate, PluginTrace, Profile, SchedulingContext, SchedulingRequest } from './types.js';

export interface ProfileResult {
  /** Chosen candidates, best first (primary, then fallbacks); empty when all were filtered out. */
  readonly chosen: readonly Candidate[];
  readonly trace: readonly PluginTrace[];
}

/**
 * Runs filters in order, then sums weighted scores, then asks the picker. The trace is
 * only built when asked for: it costs allocations on the hot path.
 */
export function runProfile(
  profile: Profile,
  request: SchedulingRequest,
  candidates: readonly Candidate[],
  ctx: SchedulingContext,
  options: { readonly fallbacks: number; readonly trace: boolean },
): ProfileResult {
  const trace: PluginTrace[] = [];
  let remaining: readonly Candidate[] = candidates;
  for (const filter of profile.filters) {
    remaining = filter.filter(request, remaining, ctx);
    if (options.trace) trace.push({ plugin: filter.name, remaining: remaining.length });
    if (remaining.length === 0) return { chosen: [], trace };
  }
  const totals = new Array<number>(remaining.length).fill(0);
  for (const { scorer, weight } of profile.scorers) {
    const scores = scorer.score(request, remaining, ctx);
    for (let i = 0; i < totals.length; i++) totals[i] = (totals[i] ?? 0) + weight * (scores[i] ?? 0);
    if (options.trace) {
      const byAddress: Record<string, number> = {};
      remaining.forEach((c, i) => {
        byAddress[c.endpoint.address] = scores[i] ?? 0;
      });
      trace.push({ plugin: scorer.name, scores: byAddress });
    }
  }
  const picked = profile.picker.pick(totals, 1 + options.fallbacks, ctx);
  const chosen: Candidate[] = [];
  for (const i of picked) {
    const c = remaining[i];
    if (c) chosen.push(c);
  }
  return { chosen, trace };
}

/**
 * The candidates the filters keep with their summed weighted scores, best first, without
 * picking (flow control compares endpoints by them). Scores are computed as runProfile does.
 */
export function rankProfile(
  profile: Profile,
  request: SchedulingRequest,
  candidates: readonly Candidate[],
  ctx: SchedulingContext,
): Ranking {
  let remaining: readonly Candidate[] = candidates;
  for (const filter of profile.filters) {
    remaining = filter.filter(request, remaining, ctx);
    if (remaining.length === 0) break;
  }
  const totals = new Array<number>(remaining.length).fill(0);
  let weight = 0;
  for (const { scorer, weight: w } of profile.scorers) {
    weight += w;
    if (remaining.length === 0) continue;
    const scores = scorer.score(request, remaining, ctx);
    for (let i = 0; i < totals.length; i++) totals[i] = (totals[i] ?? 0) + w * (scores[i] ?? 0);
  }
  const ranked = remaining.map((c, i) => ({ endpoint: c.endpoint, score: totals[i] ?? 0 }));
  ranked.sort((a, b) => b.score - a.score);
  return { candidates: ranked, weight };
}
