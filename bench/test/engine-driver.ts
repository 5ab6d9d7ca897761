// Drives a simulated replica step by step in tests, as the cluster's event loop would.
import type { ReplicaEngine, RequestResult, RetentionHint, SimRequest } from '../src/sim/engine.js';
import { blockHashes, type Run } from '../src/sim/token-streams.js';

/** A request whose prompt is `runs` and whose output is `outputTokens` fresh tokens. */
export function engineRequest(
  id: string,
  runs: Run[],
  outputTokens: number,
  extra: { arrivalMs?: number; retention?: RetentionHint } = {},
): SimRequest {
  const promptTokens = runs.reduce((a, r) => a + r.tokens, 0);
  return {
    id,
    promptBlocks: blockHashes(runs, 16),
    fullBlocks: blockHashes([...runs, { key: `${id}:out`, tokens: outputTokens }], 16),
    promptTokens,
    outputTokens,
    priority: 0,
    arrivalMs: extra.arrivalMs ?? 0,
    ...(extra.retention ? { retention: extra.retention } : {}),
  };
}

/** Steps until idle from `startMs`; when each request got its first token, and its result. */
export function runUntilIdle(engine: ReplicaEngine, startMs = 0) {
  let now = startMs;
  const first = new Map<string, number>();
  const done = new Map<string, RequestResult>();
  for (;;) {
    const out = engine.step(now);
    if (!out) break;
    now += out.durationMs;
    for (const f of out.firstTokens) first.set(f.id, now);
    for (const r of out.finished) done.set(r.id, r);
  }
  return { now, first, done };
}
