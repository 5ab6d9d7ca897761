// When an endpoint takes traffic: `unhealthyAfter` failed probes in a row (scrapes or
// connect errors) take it out, the next successful one brings it back. One rule for the
// scraper and the simulator's scrape view.

export interface EndpointHealth {
  readonly healthy: boolean;
  /** Consecutive failed probes. */
  readonly failures: number;
}

/** The health after one probe of an endpoint whose health was `before`. */
export function afterProbe(before: EndpointHealth, ok: boolean, unhealthyAfter: number): EndpointHealth {
  if (ok) return { healthy: true, failures: 0 };
  const failures = before.failures + 1;
  return { healthy: before.healthy && failures < unhealthyAfter, failures };
}
