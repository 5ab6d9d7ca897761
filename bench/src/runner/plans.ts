// The sessions each policy runs: warm-up sessions (named warmup-*, not measured), then the
// measured ones in one or more waves; or a replayed trace as it is; and the smaller loads of
// the peak-concurrency sweep.
import { codingWorkload, researchWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import {
  codingLongWorkload,
  researchLongWorkload,
} from '../../../test-support/src/workloads/long-agent-workloads.js';
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { readReplayFile } from '../../../test-support/src/workloads/trace-replay.js';
import type { RunnerOptions } from './options.js';
import { LARGE_MODEL } from './sim-pools.js';

type PlanOptions = Pick<
  RunnerOptions,
  'sessions' | 'rate' | 'warmup' | 'waves' | 'waveGapS' | 'seed' | 'largeRoles'
>;

/** Quiet between the warm-up sessions and the first measured wave. */
const WARMUP_GAP_S = 60;
/** Sessions arrive in bursts of this many at once. */
export const BURST = 4;

export const isReplayFile = (workload: string): boolean => workload.endsWith('.jsonl');

function withLargeRoles(plans: SessionPlan[], largeRoles: readonly string[]): SessionPlan[] {
  if (largeRoles.length === 0) return plans;
  return plans.map((p) => ({
    ...p,
    steps: p.steps.map((s) => (largeRoles.includes(s.agent) ? { ...s, model: LARGE_MODEL } : s)),
  }));
}

/** `count` generated sessions of a workload from t = 0. */
export function generatePlans(
  workload: string,
  count: number,
  ratePerS: number,
  seed: number,
  largeRoles: readonly string[],
  burst = BURST,
): SessionPlan[] {
  const options = { sessions: count, ratePerS, seed, model: 'llama', burst };
  if (workload === 'coding') return withLargeRoles(codingWorkload(options), largeRoles);
  if (workload === 'research') return withLargeRoles(researchWorkload(options), largeRoles);
  if (workload === 'coding-long') return withLargeRoles(codingLongWorkload(options), largeRoles);
  if (workload === 'research-long') return withLargeRoles(researchLongWorkload(options), largeRoles);
  throw new Error(`unknown workload ${workload}`);
}

/**
 * The main run's sessions: warm-up sessions at a quarter of the rate, then the measured ones
 * in `waves` waves (named wave<i>-* when more than one), `waveGapS` seconds after the previous
 * wave's last arrival. A trace file is replayed as it is; its bad lines go to `warn`.
 */
export function plansFor(workload: string, o: PlanOptions, warn: (message: string) => void): SessionPlan[] {
  if (isReplayFile(workload)) {
    const { sessions: replayed, errors } = readReplayFile(workload);
    for (const e of errors) warn(`${workload}:${e.line}: skipped: ${e.message}`);
    return replayed;
  }
  const warm = generatePlans(workload, o.warmup, o.rate / 4, o.seed + 1000, o.largeRoles).map((p) => ({
    ...p,
    session: `warmup-${p.session}`,
  }));
  const plans = [...warm];
  let waveStart = (warm.at(-1)?.arrivalS ?? -WARMUP_GAP_S) + WARMUP_GAP_S;
  for (let w = 0; w < o.waves; w++) {
    const count = Math.floor(o.sessions / o.waves) + (w < o.sessions % o.waves ? 1 : 0);
    const wave = generatePlans(workload, count, o.rate, o.seed + w, o.largeRoles).map((p) => ({
      ...p,
      session: o.waves > 1 ? `wave${w}-${p.session}` : p.session,
      arrivalS: p.arrivalS + waveStart,
    }));
    plans.push(...wave);
    waveStart = (wave.at(-1)?.arrivalS ?? waveStart) + o.waveGapS;
  }
  return plans;
}

/** The sweep's smaller loads (sessions in the same arrival burst); the main run is its last point. */
export function sweepSizes(sessions: number): number[] {
  return [Math.round(sessions / 6), Math.round(sessions / 2)];
}

/** A warm-up session's JCT is not measured. */
export const isMeasured = (session: string): boolean => !session.startsWith('warmup-');
