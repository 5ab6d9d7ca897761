// The autoscaler's forecast (pure): every active session is projected a horizon ahead along
// its workflow's automaton; the expected prefill and decode work of the stages it will reach
// is summed per pool over time buckets. Deterministic: expectations, not samples.
import type { IndexedModel } from '../predictor.js';
import { END_ROLE } from '../workflow-model.js';

export interface SessionPosition {
  readonly workflow: string;
  /** Stage roles so far, the current one last. */
  readonly roles: readonly string[];
  /** Pool serving this session's requests. */
  readonly pool: string;
  /** True while a request of the current stage runs (the next stage waits for it). */
  readonly running: boolean;
}

export interface ForecastSettings {
  readonly horizonS: number;
  readonly bucketS: number;
  /** Stages to look ahead at most. */
  readonly maxStages: number;
  /** Ignore branches less likely than this. */
  readonly minProbability: number;
  /** Decode speed one request sees (tokens/s), to time a stage from its output length. */
  readonly perRequestTokensPerS: number;
}

/** Expected work per pool per bucket: prefill tokens and decode tokens. */
export interface PoolForecast {
  readonly pool: string;
  readonly prefillTokens: number[];
  readonly decodeTokens: number[];
}

export function forecast(
  sessions: readonly SessionPosition[],
  models: ReadonlyMap<string, IndexedModel>,
  s: ForecastSettings,
): Map<string, PoolForecast> {
  const buckets = Math.max(1, Math.ceil(s.horizonS / s.bucketS));
  const out = new Map<string, PoolForecast>();
  const add = (pool: string, atS: number, prefill: number, decode: number, durationS: number) => {
    let f = out.get(pool);
    if (!f) {
      f = { pool, prefillTokens: new Array(buckets).fill(0), decodeTokens: new Array(buckets).fill(0) };
      out.set(pool, f);
    }
    const first = Math.floor(atS / s.bucketS);
    if (first >= buckets) return;
    (f.prefillTokens as number[])[first] = (f.prefillTokens[first] ?? 0) + prefill;
    // Decode work spreads over the stage's duration.
    const last = Math.min(buckets - 1, Math.floor((atS + Math.max(durationS, s.bucketS)) / s.bucketS) - 1);
    const span = Math.max(1, last - first + 1);
    for (let b = first; b <= Math.max(first, last); b++)
      (f.decodeTokens as number[])[b] = (f.decodeTokens[b] ?? 0) + decode / span;
  };
  for (const session of sessions) {
    const model = models.get(session.workflow);
    if (!model) continue;
    // Time until the current stage ends: half its expected duration if it still runs.
    const current = session.roles.at(-1) ?? '';
    const currentStats = model.agent(current.split('+')[0] ?? current);
    let startS = session.running
      ? currentStats
        ? currentStats.outputP50 / s.perRequestTokensPerS / 2
        : 0
      : 0;
    startS += currentStats ? currentStats.toolTimeP50Ms / 1000 : 0;
    walk(model, session, [...session.roles], 1, startS, 0, s, add);
  }
  return out;
}

function walk(
  model: IndexedModel,
  session: SessionPosition,
  roles: string[],
  probability: number,
  atS: number,
  depth: number,
  s: ForecastSettings,
  add: (pool: string, atS: number, prefill: number, decode: number, durationS: number) => void,
): void {
  if (depth >= s.maxStages || atS >= s.horizonS) return;
  const prediction = model.predict(roles, null);
  for (const t of prediction.nextAgents) {
    const p = probability * t.probability;
    if (p < s.minProbability || t.role === END_ROLE) continue;
    const width = model.model.roles.find((r) => r.role === t.role)?.meanWidth ?? 1;
    const stats = model.agent(t.role.split('+')[0] ?? t.role);
    const output = stats?.outputP50 ?? 0;
    const prompt = stats?.promptTokensMean ?? 0;
    const durationS = output / s.perRequestTokensPerS;
    add(session.pool, atS, p * width * prompt, p * width * output, durationS);
    const nextAt = atS + durationS + (stats ? stats.toolTimeP50Ms / 1000 : 0);
    walk(model, session, [...roles, t.role], p, nextAt, depth + 1, s, add);
  }
}
