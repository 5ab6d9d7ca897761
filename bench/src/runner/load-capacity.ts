// The cluster's capacity for a workload: the session rate at which round-robin's output
// throughput stops growing. Doubling from a low rate (START_TOKENS_PER_S_PER_REPLICA) until doubling the offered load
// adds less than PLATEAU_GROWTH to the throughput delivered in the steady window; capacity is
// then the plateau (the most any probe delivered) over the output tokens a session asks for,
// and one probe at that rate checks it is served (delivered / offered printed).
import type { CapacityProbe, WorkloadCapacity } from './load-report.js';

/** The first probe offers this many output tokens/s per replica (far below an H100's ~750). */
export const START_TOKENS_PER_S_PER_REPLICA = 150;
/** Doubling the offered load that grows delivered throughput less than this is the plateau. */
export const PLATEAU_GROWTH = 0.1;
const MAX_DOUBLINGS = 8;

export interface ProbeResult {
  readonly delivered: number;
  readonly offered: number;
}

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
  for (let i = 0; i < MAX_DOUBLINGS; i++) {
    rate *= 2;
    const next = run(rate);
    const grew = next.delivered / Math.max(1e-9, previous.delivered) - 1;
    previous = next;
    if (grew < PLATEAU_GROWTH) break;
  }
  const plateau = Math.max(...probes.map((p) => p.delivered_tokens_per_s));
  const capacity = plateau / outputTokensPerSession;
  const check = run(capacity);
  const method =
    `round-robin's delivered output throughput (steady window) doubling the rate from ` +
    `${probes[0]?.rate} sessions/s until a doubling added < ${100 * PLATEAU_GROWTH}%; capacity = ` +
    `plateau ${plateau} tok/s / ${outputTokensPerSession.toFixed(0)} output tokens per session = ` +
    `${capacity.toFixed(3)} sessions/s; at that rate it delivered ${((100 * check.delivered) / Math.max(1e-9, check.offered)).toFixed(0)}% of the offered tokens`;
  return {
    sessions_per_s: +capacity.toFixed(4),
    output_tokens_per_session: Math.round(outputTokensPerSession),
    method,
    probes,
  };
}
