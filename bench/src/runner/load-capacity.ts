// The cluster's capacity for a workload: the session rate at which round-robin's output
// throughput stops growing. Doubling the rate from a low one (START_TOKENS_PER_S_PER_REPLICA)
// until the cluster no longer delivers what is offered (under SERVED of it in the steady
// window) or a doubling adds less than PLATEAU_GROWTH; capacity is then the plateau (the most
// any probe delivered) over the output tokens a session asks for. The last probe is past
// capacity (it measures the plateau); none is far past it, where a run costs the most.
import type { CapacityProbe, WorkloadCapacity } from './load-report.js';

/** The first probe offers this many output tokens/s per replica (below capacity on every workload). */
export const START_TOKENS_PER_S_PER_REPLICA = 50;
/** A probe delivering less than this share of the offered tokens is past capacity. */
export const SERVED = 0.9;
/** Doubling the offered load that grows delivered throughput less than this is the plateau. */
export const PLATEAU_GROWTH = 0.1;
const MAX_DOUBLINGS = 8;

export interface ProbeResult {
  readonly delivered: number;
  readonly offered: number;
  /** Sessions measured in the window (too few and delivered/offered is noise). */
  readonly sessions: number;
}

/** Below this many sessions in the window only the growth criterion stops the doubling. */
export const MIN_SESSIONS = 40;
const past = (r: ProbeResult) => r.sessions >= MIN_SESSIONS && r.delivered < SERVED * r.offered;

export function findCapacity(
  replicas: number,
  outputTokensPerSession: number,
  probe: (rate: number) => ProbeResult,
  log: (line: string) => void,
): WorkloadCapacity {
  const probes: CapacityProbe[] = [];
  const run = (rate: number) => {
    const r = probe(rate);
    probes.push({
      rate: +rate.toFixed(4),
      offered_tokens_per_s: Math.round(r.offered),
      delivered_tokens_per_s: Math.round(r.delivered),
    });
    log(
      `  capacity probe ${rate.toFixed(3)} sessions/s: offered ${r.offered.toFixed(0)} output tok/s, delivered ${r.delivered.toFixed(0)}`,
    );
    return r;
  };
  let rate = (START_TOKENS_PER_S_PER_REPLICA * replicas) / outputTokensPerSession;
  let previous = run(rate);
  for (let i = 0; i < MAX_DOUBLINGS && !past(previous); i++) {
    rate *= 2;
    const next = run(rate);
    const grew = next.delivered / Math.max(1e-9, previous.delivered) - 1;
    previous = next;
    if (grew < PLATEAU_GROWTH || past(next)) break;
  }
  const plateau = Math.max(...probes.map((p) => p.delivered_tokens_per_s));
  const capacity = plateau / outputTokensPerSession;
  const method =
    `round-robin's output throughput delivered in the steady window, doubling the rate from ` +
    `${probes[0]?.rate} sessions/s until it delivered < ${100 * SERVED}% of the offered tokens ` +
    `(with >= ${MIN_SESSIONS} sessions in the window) or ` +
    `a doubling added < ${100 * PLATEAU_GROWTH}%; capacity = plateau ${plateau} tok/s / ` +
    `${outputTokensPerSession.toFixed(0)} output tokens per session = ${capacity.toFixed(3)} sessions/s`;
  return {
    sessions_per_s: +capacity.toFixed(4),
    output_tokens_per_session: Math.round(outputTokensPerSession),
    method,
    probes,
  };
}
