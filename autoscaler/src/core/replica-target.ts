// Turns a pool's forecast and its live load into a replica target (pure). A replica started
// now serves only after the model load time, so scaling up follows the busiest bucket from
// then to the horizon (demand before it is the current replicas' and the queue's business);
// scaling down never goes below the busiest bucket of the whole horizon, since a replica let
// go now is a model load away from coming back. The queue adds its own need (reactive).
// Scale-up at once, scale-down only after the pool has drained and stayed low for a delay,
// within [min, max]. The delay is short (`forecastScaleDownDelayS`) when every active session
// of the pool is projected by a promoted model and they account for the pool's live load,
// since then "low" means no known session will need the capacity; otherwise it is the long
// window (`scaleDownDelayS`) a queue-driven scaler needs to ride out lulls.
import type { PoolForecast } from './forecast.js';

export interface PoolCapacity {
  /** Tokens per second one replica prefills, and decodes at its typical batch. */
  readonly prefillTokensPerS: number;
  readonly decodeTokensPerS: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly modelLoadS: number;
  readonly scaleDownDelayS: number;
  /** Scale-down delay when the forecast sees every active session of the pool. */
  readonly forecastScaleDownDelayS: number;
  /** Target utilisation of a replica (headroom for bursts). */
  readonly targetUtilisation: number;
}

export interface PoolLive {
  readonly current: number;
  /** Requests waiting across the pool's replicas, and in flight. */
  readonly waiting: number;
  readonly running: number;
  /** Per-replica requests a replica runs comfortably (batch size at the SLO). */
  readonly requestsPerReplica: number;
  /** Mean KV-cache usage of the pool's replicas in [0,1] (0 when unknown). */
  readonly kvUsage: number;
}

/** What one replica reports (scraped, or read from a simulated engine). */
export interface ReplicaLoad {
  readonly waiting: number;
  readonly running: number;
  readonly kvUsage: number;
}

/**
 * A pool's live figures: waiting and running summed over `replicas`, KV usage averaged over
 * `serving` (the replicas taking traffic; all of them by default).
 */
export function poolLive(
  current: number,
  replicas: readonly ReplicaLoad[],
  requestsPerReplica: number,
  serving: readonly ReplicaLoad[] = replicas,
): PoolLive {
  let waiting = 0;
  let running = 0;
  for (const r of replicas) {
    waiting += r.waiting;
    running += r.running;
  }
  const kvUsage = serving.length === 0 ? 0 : serving.reduce((a, r) => a + r.kvUsage, 0) / serving.length;
  return { current, waiting, running, requestsPerReplica, kvUsage };
}

export interface ScaleState {
  /** When the pool first wanted fewer replicas (for the scale-down delay), or null. */
  lowSinceS: number | null;
}

export interface ScaleDecision {
  readonly target: number;
  readonly reason: string;
  readonly forecastReplicas: number;
  readonly reactiveReplicas: number;
}

/**
 * Whether the pool's live load is the known sessions' (within the scrape's lag): traffic
 * without workflow identifiers, or from gateways that do not announce their requests, makes
 * the forecast's view incomplete however well it projects the sessions it knows.
 */
function explained(f: PoolForecast, live: PoolLive): boolean {
  const slack = Math.max(UNEXPLAINED_SLACK, f.knownInFlight * 0.1);
  return live.running + live.waiting <= f.knownInFlight + slack;
}

/** Requests in flight beyond the known sessions' tolerated as scrape lag or warm requests. */
const UNEXPLAINED_SLACK = 4;

export function replicaTarget(
  f: PoolForecast | undefined,
  bucketS: number,
  live: PoolLive,
  cap: PoolCapacity,
  state: ScaleState,
  nowS: number,
): ScaleDecision {
  const servesFrom = Math.max(0, Math.floor(cap.modelLoadS / bucketS));
  let arriving = 0;
  let known = 0;
  for (let b = 0; b < (f?.prefillTokens.length ?? 0); b++) {
    // Throughput (tokens) and concurrency (requests in flight) both bound a replica.
    const tokens =
      (f?.prefillTokens[b] ?? 0) / bucketS / cap.prefillTokensPerS +
      (f?.decodeTokens[b] ?? 0) / bucketS / cap.decodeTokensPerS;
    const requests = (f?.requests[b] ?? 0) / Math.max(1, live.requestsPerReplica);
    const need = Math.max(tokens, requests);
    known = Math.max(known, need);
    if (b >= servesFrom) arriving = Math.max(arriving, need);
  }
  // A forecast shorter than the load time still says what is coming: use its last bucket.
  if (f && f.prefillTokens.length <= servesFrom) arriving = known;
  const forecastReplicas = Math.ceil(arriving / cap.targetUtilisation);
  const keepReplicas = Math.min(cap.maxReplicas, Math.ceil(known / cap.targetUtilisation));
  // The reactive signal: the queue, and KV pressure above the target utilisation.
  const reactiveReplicas = Math.max(
    Math.ceil((live.waiting + live.running) / Math.max(1, live.requestsPerReplica)),
    Math.ceil((live.current * live.kvUsage) / cap.targetUtilisation),
  );
  const wanted = Math.min(cap.maxReplicas, Math.max(cap.minReplicas, forecastReplicas, reactiveReplicas));
  if (wanted >= live.current) {
    state.lowSinceS = null;
    const reason =
      wanted > live.current
        ? forecastReplicas >= reactiveReplicas
          ? 'forecast: load arriving within the model load time'
          : 'reactive: queue or KV pressure'
        : 'steady';
    return { target: wanted, reason, forecastReplicas, reactiveReplicas };
  }
  // Fewer wanted: never below what known sessions need within the horizon, and only after
  // the pool drained (nothing waiting) and stayed low long enough.
  if (keepReplicas >= live.current) {
    state.lowSinceS = null;
    return { target: live.current, reason: 'holding: projected need', forecastReplicas, reactiveReplicas };
  }
  if (live.waiting > 0) {
    state.lowSinceS = null;
    return { target: live.current, reason: 'holding: requests waiting', forecastReplicas, reactiveReplicas };
  }
  state.lowSinceS ??= nowS;
  const informed = f !== undefined && f.blindSessions === 0 && explained(f, live);
  const delay = informed ? cap.forecastScaleDownDelayS : cap.scaleDownDelayS;
  if (nowS - state.lowSinceS < delay) {
    return { target: live.current, reason: 'holding: scale-down delay', forecastReplicas, reactiveReplicas };
  }
  return {
    target: Math.max(wanted, keepReplicas),
    reason: informed
      ? 'scale down: no projected need within the model load time'
      : 'scale down: drained and low for the scale-down delay',
    forecastReplicas,
    reactiveReplicas,
  };
}
