import { z } from 'zod';
import { type EndpointState, totalLoad } from '../../../../../core/src/cluster/cluster-state.js';
import { sessionKey } from '../../../../../core/src/workflow/identifiers.js';
import type { ScorerPlugin } from '../plugin.js';
import type { SchedulingRequest, SchedulingSettings } from '../types.js';
import { prefixMatches } from '../prefix-matches.js';

// Defaults are the reference step-time model of an H100 serving Llama-3.1-8B (the
// simulator's documented constants: vLLM V1, chunked prefill), divided by the endpoint's speed.
const ms = z.number().min(0);
const parameters = z.strictObject({
  /** Linear layers' floor of a step (flat up to ~260 tokens in the step). */
  step_floor_ms: ms.default(6.8),
  /** Scheduler and sampler overhead per step, and per running request. */
  step_overhead_ms: ms.default(1.0),
  per_request_ms: ms.default(0.004),
  /** KV reads per context token of each decoding request, per step. */
  kv_read_ms_per_token: ms.default(5.6e-5),
  /** Linear layers per token in a step (prefill chunks, and decode beyond the floor). */
  token_ms: ms.default(0.026),
  /** Prefill attention: this x new x (cached + new / 2). */
  attention_ms: ms.default(1.1e-6),
  /** No endpoint takes more than load_bound x the mean in-flight + load_slack (unless all would). */
  load_bound: z.number().min(1).default(1.25),
  load_slack: z.number().min(0).default(1),
  /**
   * An endpoint past the load bound still competes when its cached prefix saves at least this
   * much prefill against the best endpoint within it (~9k tokens of an 8B model on an H100):
   * the bound stops short sessions piling up, it must not throw away a long context.
   */
  bound_exempt_prefill_ms: ms.default(250),
  /**
   * Uncached prefill is GPU work that the requests arriving after it also wait behind, not
   * only the batch running now: its time counts again x this x the mean in-flight per
   * endpoint (about as many requests pass an endpoint during a request's life as are in
   * flight there). 0 counts the running batch only.
   */
  backlog_weight: z.number().min(0).default(1),
  /**
   * At most this many requests counted for that: on short workloads past capacity (20-35 in
   * flight per endpoint) the uncapped term outweighed the decode balance (coding p95 2-3.5% worse).
   */
  backlog_max: z.number().min(0).default(8),
});
export type CostModel = z.output<typeof parameters>;

/** Milliseconds to prefill the `fresh` tokens of a prompt whose first `cached` are cached. */
function prefillMs(m: CostModel, fresh: number, cached: number): number {
  return m.token_ms * fresh + m.attention_ms * fresh * (cached + fresh / 2);
}

/** Time of one step with `batch` decoding requests reading `context` KV tokens. */
function stepMs(m: CostModel, batch: number, context: number): number {
  return (
    Math.max(m.step_floor_ms, m.token_ms * batch) +
    m.step_overhead_ms +
    m.per_request_ms * batch +
    m.kv_read_ms_per_token * context
  );
}

/**
 * Predicted milliseconds this request costs on `ep`: its own completion time (waiting for
 * a slot or KV, prefill of the tokens the endpoint does not hold, decode at the step time
 * with it in the batch) plus the delay it adds to what runs there (its prefill chunk stalls
 * the steps of every session there, a fan-out's siblings counted once; its decode lengthens
 * each step they share).
 */
export function placementCostMs(
  m: CostModel,
  request: SchedulingRequest,
  ep: EndpointState,
  cachedShare: number,
  settings: SchedulingSettings,
): number {
  const load = totalLoad(ep);
  const queued = ep.waiting;
  const batch = Math.max(ep.running, load.inFlight - queued, 0);
  // KV read each step: the scraped usage, or what is in flight there when more (requests
  // placed since the last scrape, e.g. a fan-out's siblings, whose long prompts would
  // otherwise look free): reserved tokens less the half of the expected output not yet decoded.
  const context = Math.max(ep.kvUsage * ep.kvCapacityTokens, load.reservedTokens - load.decodeTokens / 2);
  // Output still to decode per running request: about half of each one's expected output.
  const remaining = load.inFlight > 0 ? load.decodeTokens / (2 * load.inFlight) : 0;
  const output = request.outputExpected ?? request.maxTokens ?? settings.defaultOutputTokens;
  const bound = request.outputBound ?? output;
  const cached = request.promptTokens * cachedShare;
  const fresh = request.promptTokens - cached;
  const prefill = prefillMs(m, fresh, cached);
  const before = stepMs(m, batch, context);
  const after = stepMs(m, batch + 1, context + request.promptTokens + output / 2);
  // Requests ahead of it: those waiting, plus the ones whose KV must free before it fits.
  const used = Math.max(load.reservedTokens, ep.kvUsage * ep.kvCapacityTokens);
  const shortfall = Math.max(0, used + fresh + bound - ep.kvCapacityTokens);
  const perRequest = used / Math.max(1, load.inFlight);
  const ahead = queued + (shortfall > 0 ? Math.ceil(shortfall / Math.max(1, perRequest)) : 0);
  const completionGap = batch > 0 ? (before * remaining) / batch : 0;
  const own = ahead * completionGap + prefill + output * after;
  // Its prefill stalls each session there once: a fan-out's siblings wait for each other, so
  // stalling all of them delays their session once. Counted per request, an endpoint full of
  // one stage's siblings looked dear to every long prompt, which then gathered on the few
  // endpoints with the fewest requests (the most context there: the slowest steps).
  // The request's own siblings there still count one by one (a fan-out is not piled up).
  const id = request.identity;
  const mine = id && ep.sessions ? ep.sessions.count(sessionKey(id.workflow, id.session)) : 0;
  const repeated = (ep.sessions?.repeated ?? 0) - Math.max(0, mine - 1);
  const delayed = Math.min(batch, Math.max(0, load.inFlight - repeated));
  const added = delayed * prefill + batch * Math.min(output, remaining) * (after - before);
  return (own + added) / ep.speed;
}

/**
 * Pythia's placement by predicted cost: scores min cost / cost, so the cheapest endpoint
 * scores 1. A cached prefix (prefix index: our placements, warms and session history) lowers
 * the prefill term, and the prefill an endpoint would redo counts again for the requests that
 * will queue behind it (`backlog_weight`): staying costs queueing, moving costs prefill. Endpoints
 * past the load bound score 0 while any other is within it (affinity cannot pile short
 * sessions up), unless their cache saves at least `bound_exempt_prefill_ms` of prefill.
 */
export const costModelScorer: ScorerPlugin<CostModel> = {
  type: 'cost-model-scorer',
  kind: 'scorer',
  parameters,
  needs: { prefixHashes: true },
  create: (m) => ({
    name: 'cost-model-scorer',
    score: (request, candidates, ctx) => {
      const hashes = request.prefixHashes;
      // A fan-out's siblings count only blocks already computed: the prefix a sibling was just
      // placed with is not computed yet, and counting it would pile the stage onto one
      // endpoint (it waits for its slowest); what an earlier stage computed (a searcher's own
      // thread) still counts.
      const matches = prefixMatches(request, candidates, ctx, request.siblingsInFlight > 0);
      let total = 1;
      for (const c of candidates) total += totalLoad(c.endpoint).inFlight;
      const mean = total / Math.max(1, candidates.length);
      const limit = m.load_bound * mean + m.load_slack;
      const shares = candidates.map((c) =>
        hashes.length > 0 ? (matches.get(c.endpoint.address) ?? 0) / hashes.length : 0,
      );
      const prefills = candidates.map((c, i) => {
        const fresh = request.promptTokens * (1 - (shares[i] ?? 0));
        return prefillMs(m, fresh, request.promptTokens - fresh) / c.endpoint.speed;
      });
      const within = candidates.map((c) => totalLoad(c.endpoint).inFlight + 1 <= limit);
      let bestWithin = Number.POSITIVE_INFINITY;
      for (let i = 0; i < candidates.length; i++)
        if (within[i]) bestWithin = Math.min(bestWithin, prefills[i] ?? 0);
      const costs = candidates.map((c, i) => {
        const prefill = prefills[i] ?? 0;
        const exempt = bestWithin - prefill >= m.bound_exempt_prefill_ms;
        if (bestWithin !== Number.POSITIVE_INFINITY && !within[i] && !exempt) return Number.POSITIVE_INFINITY;
        const backlog = m.backlog_weight * Math.min(mean, m.backlog_max) * prefill;
        return placementCostMs(m, request, c.endpoint, shares[i] ?? 0, ctx.settings) + backlog;
      });
      const best = Math.min(...costs);
      return costs.map((cost) => (cost === Number.POSITIVE_INFINITY ? 0 : cost <= 0 ? 1 : best / cost));
    },
  }),
};
