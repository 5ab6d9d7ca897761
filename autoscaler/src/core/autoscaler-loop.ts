// The autoscaler's decision loop, the same for the service (real time, fed from NATS and
// the scraper) and the bench (virtual time, fed from the simulated engines): it follows the
// active sessions from request starts and traces, and on each tick projects them along
// their workflows' models (forecast) and turns each pool's forecast and live load into a
// replica target (replica-target). Every setting comes from the configuration: the
// `autoscaler:` section with its per-pool entries over the defaults, the profiler's session
// idle window, and ext-proc's bound on tracked sessions.
import {
  type AutoscalerPoolConfig,
  type PythiaConfig,
  autoscalerPoolSettings,
} from '../../../common/src/config/schema.js';
import type { ScalingDecisionRecord } from '../../../core/src/wire/codec.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { ActiveSessions } from './active-sessions.js';
import { type ForecastSettings, emptyForecast, forecast, forecastSettings } from './forecast.js';
import {
  type PoolCapacity,
  type ReplicaLoad,
  type ScaleState,
  poolLive,
  replicaTarget,
} from './replica-target.js';

/** What the caller sees of a pool at a tick. */
export interface PoolView {
  /** Replicas the pool has (starting or serving), or the last target when they cannot be seen. */
  readonly current: number;
  /** Each replica's load (waiting and running are summed over these). */
  readonly replicas: readonly ReplicaLoad[];
  /** The replicas taking traffic, whose KV usage is averaged; all of `replicas` by default. */
  readonly serving?: readonly ReplicaLoad[];
}

export interface AutoscalerLoopOptions {
  /**
   * `forecast` (Pythia): projected sessions and the live queue. `reactive`: the live queue
   * and KV pressure alone, as a queue-driven scaler (KEDA on a queue metric) decides.
   */
  readonly mode?: 'forecast' | 'reactive';
}

export interface AutoscalerTick {
  /** Sessions followed at this tick (seen within the idle window, not ended). */
  readonly activeSessions: number;
  /** One decision per pool, in the order of the pools given. */
  readonly decisions: ScalingDecisionRecord[];
}

/** A pool's autoscaling settings as the replica-target core takes them. */
export function poolCapacity(p: AutoscalerPoolConfig): PoolCapacity {
  return {
    prefillTokensPerS: p.prefill_tokens_per_s,
    decodeTokensPerS: p.decode_tokens_per_s,
    minReplicas: p.min_replicas,
    maxReplicas: p.max_replicas,
    modelLoadS: p.model_load_s,
    scaleDownDelayS: p.scale_down_delay_s,
    forecastScaleDownDelayS: p.forecast_scale_down_delay_s,
    targetUtilisation: p.target_utilisation,
  };
}

export class AutoscalerLoop {
  private readonly sessions: ActiveSessions;
  private readonly states = new Map<string, ScaleState>();
  private readonly settings: ForecastSettings;
  private readonly idleMs: number;
  private readonly mode: 'forecast' | 'reactive';
  /** How often to tick (`autoscaler.interval_s`). */
  readonly intervalMs: number;

  constructor(
    private readonly config: Pick<PythiaConfig, 'autoscaler' | 'profiler' | 'ext_proc'>,
    options: AutoscalerLoopOptions = {},
  ) {
    this.idleMs = config.profiler.session_idle_s * 1000;
    this.sessions = new ActiveSessions(config.ext_proc.max_tracked_sessions, {
      maxBytes: config.autoscaler.session_budget_bytes,
      idleMs: this.idleMs,
      maxAgentPools: config.autoscaler.max_agent_pools,
      agentPoolBytes: config.autoscaler.agent_pool_budget_bytes,
    });
    this.settings = forecastSettings(config.autoscaler);
    this.intervalMs = config.autoscaler.interval_s * 1000;
    this.mode = options.mode ?? 'forecast';
  }

  /** A request was routed (published by ext-proc as it routes). */
  started(start: RequestStart, nowMs: number): void {
    this.sessions.started(start, nowMs);
  }

  /** A request completed (its trace). */
  ingest(trace: Trace, nowMs: number): void {
    this.sessions.ingest(trace, nowMs);
  }

  /** One decision per pool of `pools`, with the models in force. */
  tick(nowMs: number, models: Iterable<IndexedModel>, pools: ReadonlyMap<string, PoolView>): AutoscalerTick {
    const a = this.config.autoscaler;
    const positions = this.sessions.positions(nowMs, this.idleMs);
    const byWorkflow = new Map<string, IndexedModel>();
    for (const m of models) byWorkflow.set(m.model.workflow, m);
    const projected =
      this.mode === 'forecast'
        ? forecast(positions, byWorkflow, this.settings, (w, agent) => this.sessions.poolOf(w, agent))
        : null;
    const decisions: ScalingDecisionRecord[] = [];
    for (const [pool, view] of pools) {
      const p = autoscalerPoolSettings(a, pool);
      const state = this.states.get(pool) ?? { lowSinceS: null };
      this.states.set(pool, state);
      const live = poolLive(view.current, view.replicas, p.requests_per_replica, view.serving);
      const f = projected?.get(pool) ?? emptyForecast(pool, this.settings);
      const d = replicaTarget(
        projected ? f : undefined,
        a.bucket_s,
        live,
        poolCapacity(p),
        state,
        nowMs / 1000,
      );
      decisions.push({
        pool,
        current: view.current,
        target: d.target,
        reason: d.reason,
        forecastReplicas: d.forecastReplicas,
        reactiveReplicas: d.reactiveReplicas,
        forecastDecodeTokens: f.decodeTokens,
        bucketS: a.bucket_s,
        unixMs: nowMs,
        forecastRequests: f.requests,
        projectedSessions: f.projectedSessions,
        blindSessions: f.blindSessions,
      });
    }
    return { activeSessions: positions.length, decisions };
  }
}
