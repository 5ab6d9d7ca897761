// Turns a pool's forecast and its live load into a replica target (pure): enough replicas
// for the busiest bucket the pool will see within the model load time (a replica started now
// is useful only then), plus what the current queue needs; scale-up at once, scale-down only
// after the pool has drained and stayed low for `scaleDownDelayS`, within [min, max].
import type { PoolForecast } from './forecast.js';

export interface PoolCapacity {
  /** Tokens per second one replica prefills, and decodes at its typical batch. */
  readonly prefillTokensPerS: number;
  readonly decodeTokensPerS: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly modelLoadS: number;
  readonly scaleDownDelayS: number;
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

export function replicaTarget(
  f: PoolForecast | undefined,
  bucketS: number,
  live: PoolLive,
  cap: PoolCapacity,
  state: ScaleState,
  nowS: number,
): ScaleDecision {
  const within = Math.max(1, Math.ceil((cap.modelLoadS + bucketS) / bucketS));
  let peak = 0;
  for (let b = 0; b < Math.min(within, f?.prefillTokens.length ?? 0); b++) {
    const need =
      (f?.prefillTokens[b] ?? 0) / bucketS / cap.prefillTokensPerS +
      (f?.decodeTokens[b] ?? 0) / bucketS / cap.decodeTokensPerS;
    peak = Math.max(peak, need);
  }
  const forecastReplicas = Math.ceil(peak / cap.targetUtilisation);
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
  // Fewer wanted: only after the pool drained (nothing waiting) and stayed low long enough.
  if (live.waiting > 0) {
    state.lowSinceS = null;
    return { target: live.current, reason: 'holding: requests waiting', forecastReplicas, reactiveReplicas };
  }
  state.lowSinceS ??= nowS;
  if (nowS - state.lowSinceS < cap.scaleDownDelayS) {
    return { target: live.current, reason: 'holding: scale-down delay', forecastReplicas, reactiveReplicas };
  }
  return {
    target: wanted,
    reason: 'scale down: no projected need within the model load time',
    forecastReplicas,
    reactiveReplicas,
  };
}
