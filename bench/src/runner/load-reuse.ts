// Runs of an earlier load sweep taken instead of rerun (`--reuse FILE --reuse-policies LIST`):
// a run is taken only when it is the same run (seed, cluster, ext-proc replicas, window,
// warm-up, tail and rate), so a sweep can be resumed, or finished after a change that leaves
// those policies' code untouched. The report names what was reused and from which commit;
// that the code is untouched is the caller's claim, to check by rerunning one of them.
import type { LoadSweepReport } from './load-report.js';
import type { LoadTask } from './load-run.js';
import { ORACLE } from './policy-spec.js';
import type { PolicySummary } from './summary.js';

/** Per workload and load: the runs taken from an earlier report, and its commit. */
export type ReusedRuns = Record<string, Record<string, { commit: string; policies: string[] }>>;

/** The earlier run of `task` (at `load`) when `policies` allows it and it is the same run. */
export function reusableRun(
  earlier: LoadSweepReport,
  policies: ReadonlySet<string>,
  task: LoadTask,
  load: string,
): PolicySummary | null {
  const w = task.workload;
  const c = earlier.configuration;
  const same =
    policies.has(task.policy) &&
    earlier.seed === task.seed &&
    c.replicas === task.replicas &&
    (c.ext_proc_replicas ?? 1) === task.extProcReplicas &&
    (task.extProcReplicas === 1 || c.replica_delay_ms === task.replicaDelayMs) &&
    c.duration_s[w] === task.durationS &&
    earlier.warmup_s[w] === task.warmupS &&
    earlier.tail_s[w] === task.tailS &&
    // Rates are kept to 4 decimals in the report.
    Math.abs((earlier.rates[w]?.[load] ?? Number.NaN) - task.rate) < 5e-5;
  if (!same) return null;
  return (
    (task.policy === ORACLE ? earlier.oracle[w]?.[load] : earlier.results[w]?.[load]?.[task.policy]) ?? null
  );
}

/** Notes a reused run in `into`. */
export function noteReused(into: ReusedRuns, commit: string, task: LoadTask, load: string): void {
  const byLoad = (into[task.workload] ??= {});
  const entry = (byLoad[load] ??= { commit, policies: [] });
  entry.policies.push(task.policy);
}
