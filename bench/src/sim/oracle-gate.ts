// The oracle bound of the load sweep: a gateway queue that knows what no router can (each
// step's true output length and its session's true remaining work) and the engines' exact
// state (cached prefix per replica, tokens left to decode). It holds every request while its
// candidate replicas are saturated (requests waiting in the engine, or KV >= 90% used: the
// llm-d flow-control detector's signals), releases shortest-remaining-session-first (SRPT
// over the session's remaining output tokens) to the cheapest unsaturated replica under the
// cost model ext-proc's cost-model scorer uses (fed the true figures), and the engines admit
// by the same priority. Not a router anyone can run: the reference the policies are measured
// against ("share of the achievable gain").
import { zeroLoad, type EndpointState } from '../../../core/src/cluster/cluster-state.js';
import {
  type CostModel,
  costModelScorer,
  placementCostMs,
} from '../../../ext-proc/src/core/scheduling/plugins/cost-model-scorer.js';
import type { SchedulingRequest } from '../../../ext-proc/src/core/scheduling/types.js';
import { relativeDecodeSpeed } from './profiles.js';
import type { Replica, ReplicaFleet } from './replica-fleet.js';

/** KV use at which a replica counts as saturated (llm-d's default detector uses 0.8-0.9). */
export const ORACLE_KV_SATURATION = 0.9;

export interface HeldRequest {
  /** The model's pool. */
  readonly pool: string;
  /** Output tokens the session has still to produce, this request's included (lower first). */
  readonly remainingWork: number;
  readonly promptBlocks: readonly number[];
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Sends it to the chosen replica. */
  readonly dispatch: (replica: Replica) => void;
}

const COST: CostModel = costModelScorer.parameters?.parse({}) as CostModel;
const SETTINGS = { overflowThreshold: 1, defaultOutputTokens: 0 };

export function saturated(r: Replica): boolean {
  return r.state !== 'ready' || r.engine.numWaiting > 0 || r.engine.kvUsage >= ORACLE_KV_SATURATION;
}

/** The cost-model scorer's predicted cost of `h` on `r`, from the engine's true state. */
export function oracleCostMs(h: HeldRequest, r: Replica): number {
  const e = r.engine;
  const inFlight = e.numRunning + e.numWaiting;
  const capacity = e.profile.kvCapacityTokens;
  const local = {
    ...zeroLoad(),
    inFlight,
    reservedTokens: e.kvUsage * capacity,
    // The scorer reads decodeTokens / (2 x inFlight) as the output left per request.
    decodeTokens: 2 * e.remainingDecodeTokens,
  };
  const ep: EndpointState = {
    address: r.address,
    pool: r.pool,
    healthy: true,
    inFlight,
    local,
    remote: zeroLoad(),
    waiting: e.numWaiting,
    running: e.numRunning,
    kvUsage: e.kvUsage,
    kvCapacityTokens: capacity,
    speed: relativeDecodeSpeed(e.profile),
    failures: 0,
  };
  const blocks = h.promptBlocks.length;
  const share = blocks === 0 ? 0 : e.cachedPrefixBlocks(h.promptBlocks) / blocks;
  const request: SchedulingRequest = {
    model: h.pool,
    identity: null,
    promptTokens: h.promptTokens,
    maxTokens: h.outputTokens,
    prefixHashes: [],
    outputBound: h.outputTokens,
    outputExpected: h.outputTokens,
    overflow: 0,
    siblingsInFlight: 0,
  };
  return placementCostMs(COST, request, ep, share, SETTINGS);
}

export class OracleGate {
  private held: Array<HeldRequest & { readonly seq: number }> = [];
  private seq = 0;
  /** Requests that found every replica saturated and were held. */
  heldTotal = 0;

  constructor(private readonly fleet: ReplicaFleet) {}

  submit(h: HeldRequest): void {
    const seq = this.seq++;
    this.held.push({ ...h, seq });
    this.release();
    if (this.held.some((x) => x.seq === seq)) this.heldTotal++;
  }

  /** Releases what fits, shortest remaining session work first; call after every engine step. */
  release(): void {
    if (this.held.length === 0) return;
    this.held.sort((a, b) => a.remainingWork - b.remainingWork || a.seq - b.seq);
    const kept: typeof this.held = [];
    for (const h of this.held) {
      let best: Replica | null = null;
      let bestCost = Number.POSITIVE_INFINITY;
      for (const r of this.fleet.ofPool(h.pool)) {
        if (saturated(r)) continue;
        const cost = oracleCostMs(h, r);
        if (cost < bestCost) {
          bestCost = cost;
          best = r;
        }
      }
      if (best) h.dispatch(best);
      else kept.push(h);
    }
    this.held = kept;
  }
}
