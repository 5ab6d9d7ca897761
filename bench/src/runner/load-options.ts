// `npm run bench:load` command line, parsed in one step that reports every bad value at once.
import { parseArgs } from 'node:util';
import { UsageError } from './cli.js';
import { parsePolicySpec, PolicySpecError } from './policy-spec.js';
import { WORKLOADS } from './options.js';
import { DEFAULT_REPLICA_DELAY_MS } from '../sim/ext-proc-replicas.js';

export interface LoadOptions {
  readonly workloads: readonly string[];
  readonly policies: readonly string[];
  readonly loads: readonly number[];
  /** Arrival window per run, seconds of simulated time (null: per workload, LOAD_DURATION_S). */
  readonly durationS: number | null;
  readonly seed: number;
  readonly out: string;
  readonly jobs: number;
  readonly replicas: number;
  /** Sessions/s per workload given instead of measured (`--capacity coding=1.6,...`). */
  readonly capacity: Readonly<Record<string, number>>;
  /** ext-proc replicas: gateway cores fed round-robin, sharing live sessions (as `npm run bench`). */
  readonly extProcReplicas: number;
  /** Virtual milliseconds before one replica's events reach the others. */
  readonly replicaDelayMs: number;
  /** An earlier report whose runs of `reusePolicies` are taken when they are the same runs. */
  readonly reuse: string | null;
  readonly reusePolicies: readonly string[];
}

export const LOAD_POLICIES = 'round-robin,least-request,prefix-aware,session-affinity,llm-d,dynamo,pythia';

/**
 * Default arrival window per workload: several unloaded JCTs after the warm-up (2 x unloaded
 * JCT), sized so a workload's sweep runs in minutes on one core.
 */
export const LOAD_DURATION_S: Readonly<Record<string, number>> = {
  coding: 600,
  research: 480,
  'coding-long': 1500,
  'research-long': 900,
};

export const LOAD_HELP = `npm run bench:load -- [options]

Measures the cluster's capacity for each workload (sessions/s at which round-robin's output
throughput stops growing), then runs Poisson session arrivals at each fraction of it under each
policy and the oracle bound, and writes DIR/report.json, DIR/report.md and the charts.

  --workload LIST    coding, research, coding-long, research-long or FILE.jsonl (arrivals as
                     in the file), comma-separated (default all four)
  --policies LIST    policies as in npm run bench (default ${LOAD_POLICIES})
  --loads LIST       fractions of capacity (default 0.3,0.6,0.8,0.9,1.0,1.1)
  --duration-s N     arrival window per run in simulated seconds (default per workload:
                     ${Object.entries(LOAD_DURATION_S)
                       .map(([w, d]) => `${w} ${d}`)
                       .join(', ')})
  --seed N           (default 1)
  --replicas N       8B replicas (default 8)
  --capacity LIST    WORKLOAD=SESSIONS_PER_S,... skips the capacity search for those
                     workloads (e.g. the committed report's, bench/results/load/report.json)
  --jobs N           runs in parallel, worker threads (default 1)
  --extproc-replicas N  ext-proc replicas for every policy run: N gateway cores fed round-robin
                     (as Envoy spreads ext_proc streams), sharing live sessions (default 1);
                     capacity and the unloaded JCT are measured with one, so the loads are the
                     same fractions at any N
  --replica-delay-ms D  virtual ms before one replica's events reach the others (default
                     ${DEFAULT_REPLICA_DELAY_MS}: the p50 staleness measured on loopback NATS)
  --reuse FILE       an earlier report.json: its runs of --reuse-policies (policies or oracle)
                     are taken instead of rerun where they are the same run (seed, replicas,
                     window, warm-up, rate); the report lists them with their commit
  --reuse-policies LIST  (required with --reuse)
  --out DIR          (default bench/results/load)
`;

export function parseLoadOptions(argv: readonly string[]): { help: boolean; options: LoadOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        workload: { type: 'string', default: WORKLOADS.join(',') },
        policies: { type: 'string', default: LOAD_POLICIES },
        loads: { type: 'string', default: '0.3,0.6,0.8,0.9,1.0,1.1' },
        'duration-s': { type: 'string' },
        seed: { type: 'string', default: '1' },
        replicas: { type: 'string', default: '8' },
        jobs: { type: 'string', default: '1' },
        out: { type: 'string', default: 'bench/results/load' },
        capacity: { type: 'string', default: '' },
        'extproc-replicas': { type: 'string', default: '1' },
        'replica-delay-ms': { type: 'string', default: String(DEFAULT_REPLICA_DELAY_MS) },
        reuse: { type: 'string' },
        'reuse-policies': { type: 'string', default: '' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    // parseArgs' own (an unknown flag, a missing value): a usage problem like the others.
    throw new UsageError([(err as Error).message]);
  }
  const { values } = parsed;
  const problems: string[] = [];
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) problems.push(`--${name} "${text}": expected an integer >= ${min}`);
    return n;
  };
  const workloads = values.workload.split(',').filter(Boolean);
  for (const w of workloads)
    if (!(WORKLOADS as readonly string[]).includes(w) && !w.endsWith('.jsonl'))
      problems.push(`--workload "${w}": expected ${WORKLOADS.join(', ')} or FILE.jsonl`);
  const policies = values.policies.split(',').filter(Boolean);
  for (const p of policies) {
    try {
      const spec = parsePolicySpec(p);
      if (spec.scaling.mode !== 'fixed') problems.push(`--policies "${p}": no autoscaling in the load sweep`);
      // The sweep runs the oracle bound at every load anyway (its share needs it).
      if (spec.oracle) problems.push(`--policies "${p}": the oracle bound runs in every sweep, unlisted`);
    } catch (err) {
      if (!(err instanceof PolicySpecError)) throw err;
      problems.push(`--policies: ${err.message}`);
    }
  }
  if (!policies.includes('round-robin'))
    problems.push('--policies: round-robin is needed (capacity and the oracle share)');
  const loads = values.loads.split(',').map(Number);
  if (loads.some((l) => !Number.isFinite(l) || l <= 0 || l > 4))
    problems.push(`--loads "${values.loads}": expected fractions of capacity in (0, 4]`);
  const capacity: Record<string, number> = {};
  for (const entry of values.capacity.split(',').filter(Boolean)) {
    const [w = '', r = ''] = entry.split('=');
    const rate = Number(r);
    if (!workloads.includes(w) || !(rate > 0))
      problems.push(`--capacity "${entry}": expected WORKLOAD=SESSIONS_PER_S for a workload of --workload`);
    else capacity[w] = rate;
  }
  const replicaDelayMs = Number(values['replica-delay-ms']);
  if (!Number.isFinite(replicaDelayMs) || replicaDelayMs < 0)
    problems.push(`--replica-delay-ms "${values['replica-delay-ms']}": expected a number >= 0`);
  const reusePolicies = values['reuse-policies'].split(',').filter(Boolean);
  if ((values.reuse === undefined) !== (reusePolicies.length === 0))
    problems.push('--reuse FILE and --reuse-policies LIST go together');
  const durationS = values['duration-s'] === undefined ? null : int('duration-s', values['duration-s'], 60);
  const options: LoadOptions = {
    workloads,
    policies,
    loads,
    durationS,
    seed: int('seed', values.seed, 0),
    replicas: int('replicas', values.replicas, 1),
    jobs: int('jobs', values.jobs, 1),
    out: values.out,
    capacity,
    extProcReplicas: int('extproc-replicas', values['extproc-replicas'], 1),
    replicaDelayMs,
    reuse: values.reuse ?? null,
    reusePolicies,
  };
  if (problems.length > 0) throw new UsageError(problems);
  return { help: values.help, options };
}
