// Routing quality, measured from what the gateway saw, per 1 s window:
//   sticky:    the share of a session's requests after its first that went to the endpoint its
//              previous request went to (session affinity: what the cache-affine gains need);
//   annotated: the share of workflow requests sent upstream with a proactive prediction
//              (`x-pythia-mode: proactive`: the annotations, priority and warming that follow).
// A fault's recovery is the time from the fault until the end of the last window in which either
// share is below `fraction` (80%) of its level in the `baselineMs` before the fault by more
// than chance (two standard errors of a share over the window's requests), or no request was
// sent at all. Not stricter: the cost model moves a session when its endpoint passes the load
// bound, so on a loaded machine a steady 1 s window of 30-40 requests varies 70-100%.

export interface RoutedRequest {
  /** When it was sent (ms, any origin shared with the fault times). */
  readonly atMs: number;
  /** Went to its session's previous endpoint; null for a session's first request. */
  readonly sticky: boolean | null;
  readonly annotated: boolean;
}

export interface Quality {
  readonly requests: number;
  /** Requests with a previous one in their session (the stickiness sample). */
  readonly withPrevious: number;
  /** Null when no request in the span had a previous one in its session. */
  readonly sticky: number | null;
  readonly annotated: number | null;
}

export interface FaultQuality {
  readonly baseline: Quality;
  /** The worst window after the fault (lowest of each share). */
  readonly worst: Quality;
  /** Seconds from the fault to the end of its last degraded window (0: none; null: still degraded). */
  readonly recoveredAfterS: number | null;
  readonly windows: readonly Quality[];
}

export function quality(requests: readonly RoutedRequest[], fromMs: number, toMs: number): Quality {
  let n = 0;
  let withPrevious = 0;
  let sticky = 0;
  let annotated = 0;
  for (const r of requests) {
    if (r.atMs < fromMs || r.atMs >= toMs) continue;
    n++;
    if (r.annotated) annotated++;
    if (r.sticky !== null) {
      withPrevious++;
      if (r.sticky) sticky++;
    }
  }
  return {
    requests: n,
    withPrevious,
    sticky: withPrevious === 0 ? null : sticky / withPrevious,
    annotated: n === 0 ? null : annotated / n,
  };
}

/** Below `fraction` of `base` by more than two standard errors of a share over `n`. */
function below(value: number | null, base: number | null, fraction: number, n: number): boolean {
  if (base === null || base === 0) return false; // nothing to fall from
  if (value === null || n === 0) return true;
  const level = fraction * base;
  return value < level - 2 * Math.sqrt((level * (1 - level)) / n);
}

/** Quality before and after a fault at `faultAtMs`, in whole windows up to `endMs`. */
export function faultQuality(
  requests: readonly RoutedRequest[],
  faultAtMs: number,
  endMs: number,
  { baselineMs = 2000, windowMs = 1000, fraction = 0.8 } = {},
): FaultQuality {
  const baseline = quality(requests, faultAtMs - baselineMs, faultAtMs);
  const windows: Quality[] = [];
  let lastBadEnd: number | null = null;
  for (let from = faultAtMs; from + windowMs <= endMs; from += windowMs) {
    const q = quality(requests, from, from + windowMs);
    windows.push(q);
    const bad =
      q.requests === 0 ||
      below(q.sticky, baseline.sticky, fraction, q.withPrevious) ||
      below(q.annotated, baseline.annotated, fraction, q.requests);
    if (bad) lastBadEnd = from + windowMs;
  }
  const lowest = (k: 'sticky' | 'annotated') =>
    windows.reduce<number | null>(
      (m, w) => (w[k] === null ? m : m === null ? w[k] : Math.min(m, w[k])),
      null,
    );
  const worst: Quality = {
    requests: Math.min(...windows.map((w) => w.requests)),
    withPrevious: Math.min(...windows.map((w) => w.withPrevious)),
    sticky: lowest('sticky'),
    annotated: lowest('annotated'),
  };
  const observedEnd = faultAtMs + windows.length * windowMs;
  const recoveredAfterS =
    lastBadEnd === null ? 0 : lastBadEnd >= observedEnd ? null : (lastBadEnd - faultAtMs) / 1000;
  return { baseline, worst, recoveredAfterS, windows };
}

/** Failures (`x`) among `n` trials: requests that left their session's endpoint, or went unannotated. */
export interface Misses {
  readonly x: number;
  readonly n: number;
}

/** Misses of a share over a span: `withPrevious` for stickiness, `requests` for the annotation. */
export function missesOf(q: Quality, key: 'sticky' | 'annotated'): Misses {
  const n = key === 'sticky' ? q.withPrevious : q.requests;
  return { x: Math.round((1 - (q[key] ?? 1)) * n), n };
}

/**
 * One-sided two-proportion z statistic for "`a` misses more often than `b`":
 * (xa/na - xb/nb) / sqrt(p (1 - p) (1/na + 1/nb)), p the pooled miss share. 0 when a sample
 * is empty or neither missed; +Infinity when only `a` missed and `b` never could (pooled 1).
 */
export function excessMissZ(a: Misses, b: Misses): number {
  if (a.n === 0 || b.n === 0) return 0;
  const pooled = (a.x + b.x) / (a.n + b.n);
  const diff = a.x / a.n - b.x / b.n;
  if (pooled === 0) return 0;
  if (pooled === 1) return diff > 0 ? Number.POSITIVE_INFINITY : 0;
  return diff / Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
}
