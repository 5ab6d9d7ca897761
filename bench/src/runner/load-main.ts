// npm run bench:load -- [options] (--help lists them)
// Per workload: the unloaded JCT (sessions one at a time), the capacity (load-capacity.ts),
// then every policy and the oracle bound at each fraction of capacity (load-run.ts), in
// worker threads when --jobs > 1; writes DIR/report.json, report.md and the charts. Wiring only.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findCapacity } from './load-capacity.js';
import { gitCommit, optionsOrExit } from './cli.js';
import { LOAD_DURATION_S, LOAD_HELP, parseLoadOptions } from './load-options.js';
import {
  type LoadSweepReport,
  type WorkloadCapacity,
  derivedFigures,
  writeLoadReport,
} from './load-report.js';
import { type LoadRunResult, type LoadTask, loadPlans, loadTasks, runLoadTask } from './load-run.js';
import { generatePlans, isReplayFile } from './plans.js';
import { runPolicy } from './run-policy.js';
import { ORACLE, parsePolicySpec } from './policy-spec.js';
import { simPoolsFor } from './sim-pools.js';
import { type PolicySummary, flowLine } from './summary.js';
import { H100_LLAMA_8B } from '../sim/profiles.js';
import { type ReusedRuns, noteReused, reusableRun } from './load-reuse.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const options = optionsOrExit(process.argv.slice(2), {
  name: 'bench:load',
  help: LOAD_HELP,
  parse: parseLoadOptions,
});
const commit = gitCommit();

/** Runs tasks on `jobs` child processes (in this process when 1), results in task order. */
async function runAll(tasks: readonly LoadTask[], jobs: number): Promise<LoadRunResult[]> {
  if (jobs <= 1) return tasks.map((t) => runLoadTask(t));
  const results: LoadRunResult[] = new Array(tasks.length);
  let next = 0;
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
        execArgv: ['--import', 'tsx'],
        serialization: 'advanced',
      });
      const send = () => {
        if (next >= tasks.length) {
          child.disconnect();
          resolve();
          return;
        }
        const i = next++;
        child.once('message', (r) => {
          results[i] = r as LoadRunResult;
          send();
        });
        child.send(tasks[i] as LoadTask);
      };
      child.once('error', reject);
      child.once('exit', (code) => {
        if (next < tasks.length || code) reject(new Error(`bench:load worker exited with ${code}`));
      });
      send();
    });
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  return results;
}

/** Mean JCT of sessions run one at a time on the idle cluster (round-robin). */
function unloadedJct(workload: string, seed: number, replicas: number): number {
  const plans = generatePlans(workload, 12, 1, seed + 500, [], 1);
  let total = 0;
  for (const plan of plans) {
    const { summary } = runPolicy(parsePolicySpec('round-robin'), [{ ...plan, arrivalS: 0 }], {
      simPools: simPoolsFor({ replicas, largeRoles: [], largeReplicas: 0 }),
      replicas,
      seed,
    });
    total += summary.jct_mean_s ?? 0;
  }
  return total / plans.length;
}

const results: Record<string, Record<string, Record<string, PolicySummary>>> = {};
const oracle: Record<string, Record<string, PolicySummary>> = {};
const rates: Record<string, Record<string, number>> = {};
const capacity: Record<string, WorkloadCapacity> = {};
const unloaded: Record<string, number> = {};
const warmup: Record<string, number> = {};
const tail: Record<string, number> = {};
const durations: Record<string, number> = {};
const policies = [...options.policies, ORACLE];
const earlier = options.reuse ? (JSON.parse(readFileSync(options.reuse, 'utf8')) as LoadSweepReport) : null;
const reusePolicies = new Set(options.reusePolicies);
const reused: ReusedRuns = {};
const started = performance.now();

for (const workload of options.workloads) {
  const replay = isReplayFile(workload);
  const durationS = options.durationS ?? LOAD_DURATION_S[workload] ?? 600;
  // Capacity and the unloaded JCT are the cluster's: measured with one ext-proc replica.
  const base = {
    workload,
    durationS,
    seed: options.seed,
    replicas: options.replicas,
    extProcReplicas: 1,
    replicaDelayMs: options.replicaDelayMs,
  };
  if (!replay) durations[workload] = durationS;
  let loads: Array<[string, number]>;
  if (replay) {
    // Arrivals as in the file: one "load", every session measured.
    loads = [['trace', 0]];
    Object.assign(base, { durationS: Number.POSITIVE_INFINITY });
    warmup[workload] = 0;
    tail[workload] = 0;
  } else {
    const u = unloadedJct(workload, options.seed, options.replicas);
    unloaded[workload] = +u.toFixed(2);
    warmup[workload] = Math.round(2 * u);
    tail[workload] = Math.round(u);
    log(
      `${workload}: unloaded JCT ${u.toFixed(1)} s; sessions arriving in the first ${warmup[workload]} s (2x) and after ${durationS} s are not measured (arrivals go on ${tail[workload]} s more)`,
    );
    const span = { warmupS: warmup[workload], tailS: tail[workload] };
    const perSession = (() => {
      const plans = loadPlans({ ...base, ...span, rate: 1 });
      return plans.reduce((a, p) => a + p.steps.reduce((b, s) => b + s.outputTokens, 0), 0) / plans.length;
    })();
    const given = options.capacity[workload];
    const cap =
      given !== undefined
        ? {
            sessions_per_s: given,
            output_tokens_per_session: Math.round(perSession),
            method: `given with --capacity (${given} sessions/s), not measured in this run`,
            probes: [],
          }
        : findCapacity(
            options.replicas,
            perSession,
            (rate) => {
              const r = runLoadTask({ ...base, ...span, rate, policy: 'round-robin' });
              return {
                delivered: r.windowOutputTokensPerS,
                offered: rate * r.outputTokensPerSession,
                sessions: r.summary.sessions_completed,
              };
            },
            log,
          );
    capacity[workload] = cap;
    log(`${workload}: capacity ${cap.sessions_per_s} sessions/s (${cap.method})`);
    loads = options.loads.map((l) => [l.toFixed(1), l * cap.sessions_per_s]);
  }
  const span = { warmupS: warmup[workload] ?? 0, tailS: tail[workload] ?? 0 };
  const tasks = loadTasks(
    options,
    { workload, durationS: base.durationS, ...span },
    loads.map(([, rate]) => rate),
    policies,
  );
  // Runs taken from --reuse where they are the same runs; the others run here.
  const taken = tasks.map((t, i) => {
    const load = loads[Math.floor(i / policies.length)]?.[0] ?? '';
    const summary = earlier ? reusableRun(earlier, reusePolicies, t, load) : null;
    if (summary && earlier) noteReused(reused, earlier.commit, t, load);
    return summary;
  });
  const fresh = await runAll(
    tasks.filter((_, i) => !taken[i]),
    options.jobs,
  );
  const done = taken.map((summary): LoadRunResult =>
    summary
      ? { summary, windowOutputTokensPerS: 0, outputTokensPerSession: 0, requestsPerExtProc: [] }
      : (fresh.shift() as LoadRunResult),
  );
  results[workload] = {};
  oracle[workload] = {};
  rates[workload] = {};
  loads.forEach(([load, rate], li) => {
    const rows: Record<string, PolicySummary> = {};
    policies.forEach((policy, pi) => {
      const r = done[li * policies.length + pi] as LoadRunResult;
      if (policy === ORACLE) (oracle[workload] as Record<string, PolicySummary>)[load] = r.summary;
      else rows[policy] = r.summary;
      log(
        `${workload} load ${load} (${rate.toFixed(3)}/s) ${policy}${taken[li * policies.length + pi] ? ` (reused from ${earlier?.commit})` : ''}: mean JCT ${r.summary.jct_mean_s} s, p95 ${r.summary.jct_p95_s} s, ${r.summary.sessions_completed} sessions measured (${r.summary.wall_s} s wall)${r.requestsPerExtProc.length > 1 ? `, requests per ext-proc replica ${r.requestsPerExtProc.join('/')}` : ''}${r.summary.flow_control ? `, ${flowLine(r.summary.flow_control)}` : ''}`,
      );
    });
    (results[workload] as Record<string, unknown>)[load] = rows;
    (rates[workload] as Record<string, number>)[load] = +rate.toFixed(4);
  });
}

const report: LoadSweepReport = {
  kind: 'load-sweep',
  seed: options.seed,
  commit,
  configuration: {
    replicas: options.replicas,
    profile: H100_LLAMA_8B.name,
    duration_s: durations,
    loads: options.loads.map(String),
    policies: options.policies,
    ext_proc_replicas: options.extProcReplicas,
    replica_delay_ms: options.replicaDelayMs,
  },
  capacity,
  unloaded_jct_s: unloaded,
  warmup_s: warmup,
  tail_s: tail,
  results,
  oracle,
  rates,
  ...(Object.keys(reused).length > 0 ? { reused } : {}),
  ...derivedFigures(results, oracle),
};
for (const [workload, loads] of Object.entries(report.oracle_gain_share))
  for (const [load, rows] of Object.entries(loads)) {
    const v = report.pythia_vs_best_peer[workload]?.[load];
    log(
      `${workload} ${load}: share of oracle gain (mean JCT): ${Object.entries(rows)
        .filter(([p]) => p !== 'round-robin')
        .map(([p, s]) => `${p} ${s.jct_mean === null ? '-' : `${Math.round(100 * s.jct_mean)}%`}`)
        .join(
          ', ',
        )}${v ? `; pythia vs best peer (${v.best_peer}) ${v.jct_mean}x mean, ${v.jct_p95}x p95` : ''}`,
    );
  }
log(`bench:load: ${((performance.now() - started) / 1000).toFixed(0)} s wall`);
process.stdout.write(await writeLoadReport(options.out, report));
