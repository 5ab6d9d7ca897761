// The autoscaler's forecast (pure): every active session is projected a horizon ahead along
// its workflow's automaton; the expected prefill and decode work of the stages it will reach
// is summed per pool over time buckets. Deterministic: expectations, not samples. Only
// promoted (proactive) models are trusted; sessions of other workflows count as blind, so the
// scaler knows when its view of a pool is incomplete.
import type { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { type AgentStats, END_ROLE } from '../../../core/src/workflow/workflow-model.js';

export interface SessionPosition {
  readonly workflow: string;
  /** Stage roles so far, the current one last. */
  readonly roles: readonly string[];
  /** Pool serving this session's requests. */
  readonly pool: string;
  /** Requests of the current stage started and not finished (the next stage waits for them). */
  readonly inFlight: number;
}

export interface ForecastSettings {
  readonly horizonS: number;
  readonly bucketS: number;
  /** Stages to look ahead at most. */
  readonly maxStages: number;
  /** Ignore branches less likely than this. */
  readonly minProbability: number;
  /**
   * Decode speed one request sees (tokens/s), to time a stage from its output length when
   * the model has not learned the agent's request duration.
   */
  readonly perRequestTokensPerS: number;
}

/** The forecast settings of an `autoscaler:` configuration section (service and simulator). */
export function forecastSettings(a: {
  readonly horizon_s: number;
  readonly bucket_s: number;
  readonly per_request_tokens_per_s: number;
}): ForecastSettings {
  return {
    horizonS: a.horizon_s,
    bucketS: a.bucket_s,
    maxStages: 6,
    minProbability: 0.05,
    perRequestTokensPerS: a.per_request_tokens_per_s,
  };
}

/** Expected work per pool per bucket: prefill tokens, decode tokens, requests in flight. */
export interface PoolForecast {
  readonly pool: string;
  /** Prompt tokens to prefill (the uncached part, as the model learned it). */
  readonly prefillTokens: number[];
  readonly decodeTokens: number[];
  /** Expected requests in flight (a bucket partly covered by a stage counts in part). */
  readonly requests: number[];
  /** Active sessions projected with a promoted model. */
  readonly projectedSessions: number;
  /** Active sessions whose workflow has no promoted model: their future is unknown. */
  readonly blindSessions: number;
  /** Requests of the pool's known sessions (projected or blind) in flight now. */
  readonly knownInFlight: number;
}

/** A pool's forecast when no active session is projected onto it. */
export function emptyForecast(pool: string, s: Pick<ForecastSettings, 'horizonS' | 'bucketS'>): PoolForecast {
  return poolEntry(new Map(), pool, Math.max(1, Math.ceil(s.horizonS / s.bucketS)));
}

type Forecasts = Map<string, { -readonly [K in keyof PoolForecast]: PoolForecast[K] }>;

function poolEntry(out: Forecasts, pool: string, buckets: number) {
  let f = out.get(pool);
  if (!f) {
    f = {
      pool,
      prefillTokens: new Array<number>(buckets).fill(0),
      decodeTokens: new Array<number>(buckets).fill(0),
      requests: new Array<number>(buckets).fill(0),
      projectedSessions: 0,
      blindSessions: 0,
      knownInFlight: 0,
    };
    out.set(pool, f);
  }
  return f;
}

/** Seconds a request of this agent takes: learned, else its median output at the assumed speed. */
function requestSeconds(stats: AgentStats | undefined, s: ForecastSettings): number {
  if (!stats) return 0;
  if (stats.durationP50Ms > 0) return stats.durationP50Ms / 1000;
  return stats.outputP50 / s.perRequestTokensPerS;
}

interface StageWork {
  readonly prefill: number;
  readonly decode: number;
  readonly requests: number;
  readonly durationS: number;
}

/** Where an agent's requests go (its model's pool), as last seen; undefined when never seen. */
export type AgentPools = (workflow: string, agent: string) => string | undefined;

/**
 * `agentPools` sends each projected stage to its own agent's pool (a planner on a large
 * model, its explorers on a small one); without it, or for an agent never seen, a stage goes
 * to the pool of the session's latest request.
 */
export function forecast(
  sessions: readonly SessionPosition[],
  models: ReadonlyMap<string, IndexedModel>,
  s: ForecastSettings,
  agentPools: AgentPools = () => undefined,
): Map<string, PoolForecast> {
  const buckets = Math.max(1, Math.ceil(s.horizonS / s.bucketS));
  const out: Forecasts = new Map();
  const add = (pool: string, atS: number, w: StageWork) => {
    const f = poolEntry(out, pool, buckets);
    const first = Math.floor(atS / s.bucketS);
    if (first >= buckets) return;
    f.prefillTokens[first] = (f.prefillTokens[first] ?? 0) + w.prefill;
    // Decode work spreads over the stage's duration.
    const last = Math.min(buckets - 1, Math.floor((atS + Math.max(w.durationS, s.bucketS)) / s.bucketS) - 1);
    const span = Math.max(1, last - first + 1);
    for (let b = first; b <= Math.max(first, last); b++)
      f.decodeTokens[b] = (f.decodeTokens[b] ?? 0) + w.decode / span;
    // Requests in flight: each bucket gets the share of it the stage covers.
    const endS = atS + w.durationS;
    for (let b = first; b < buckets && b * s.bucketS < endS; b++) {
      const covered = Math.min(endS, (b + 1) * s.bucketS) - Math.max(atS, b * s.bucketS);
      if (covered > 0) f.requests[b] = (f.requests[b] ?? 0) + (w.requests * covered) / s.bucketS;
    }
  };
  for (const session of sessions) {
    const own = poolEntry(out, session.pool, buckets);
    own.knownInFlight += session.inFlight;
    const model = models.get(session.workflow);
    if (!model || model.model.mode !== 'proactive') {
      own.blindSessions++;
      continue;
    }
    own.projectedSessions++;
    // Time until the current stage ends: half its expected duration if it still runs.
    const current = session.roles.at(-1) ?? '';
    const currentStats = model.agent(current.split('+')[0] ?? current);
    let startS = session.inFlight > 0 ? requestSeconds(currentStats, s) / 2 : 0;
    startS += currentStats ? currentStats.toolTimeP50Ms / 1000 : 0;
    const poolOf = (role: string) => agentPools(session.workflow, role.split('+')[0] ?? role) ?? session.pool;
    walk(model, [...session.roles], 1, startS, 0, s, (atS, role, w) => add(poolOf(role), atS, w));
  }
  return out;
}

function walk(
  model: IndexedModel,
  roles: string[],
  probability: number,
  atS: number,
  depth: number,
  s: ForecastSettings,
  add: (atS: number, role: string, w: StageWork) => void,
): void {
  if (depth >= s.maxStages || atS >= s.horizonS) return;
  const prediction = model.predict(roles, null);
  for (const t of prediction.nextAgents) {
    const p = probability * t.probability;
    if (p < s.minProbability || t.role === END_ROLE) continue;
    const width = model.model.roles.find((r) => r.role === t.role)?.meanWidth ?? 1;
    const stats = model.agent(t.role.split('+')[0] ?? t.role);
    const output = stats?.outputP50 ?? 0;
    // Older models lack the uncached mean: fall back to the whole prompt.
    const prompt = stats ? stats.uncachedPromptTokensMean || stats.promptTokensMean : 0;
    const durationS = requestSeconds(stats, s);
    add(atS, t.role, {
      prefill: p * width * prompt,
      decode: p * width * output,
      requests: p * width,
      durationS,
    });
    const nextAt = atS + durationS + (stats ? stats.toolTimeP50Ms / 1000 : 0);
    walk(model, [...roles, t.role], p, nextAt, depth + 1, s, add);
  }
}
