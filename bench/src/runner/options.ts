// The bench runner's command line, parsed into typed options in one step that reports every
// bad value at once. A flag given twice takes its last value, so flags after an npm script's
// own (`npm run bench:autoscale -- --sessions 60`) override them.
import { parseArgs } from 'node:util';
import { IDENTITY_MODES, type IdentityMode } from '../sim/client-identity.js';
import { DEFAULT_REPLICA_DELAY_MS } from '../sim/ext-proc-replicas.js';
import { type PolicySpec, PolicySpecError, formatPolicySpec, parsePolicySpec } from './policy-spec.js';
import { UsageError } from './cli.js';

export interface RunnerOptions {
  /** `coding`, `research`, or a trace file to replay (`*.jsonl`). */
  readonly workloads: readonly string[];
  readonly policies: readonly PolicySpec[];
  /** Replicas of the 8B pool (the most it may have when autoscaled). */
  readonly replicas: number;
  /** Measured sessions per workload. */
  readonly sessions: number;
  /** Session arrivals per second. */
  readonly rate: number;
  /** Sessions run first at a quarter of the rate (caches and the profiler warm up); not measured. */
  readonly warmup: number;
  /** The measured sessions arrive in this many waves, `waveGapS` seconds of quiet between them. */
  readonly waves: number;
  readonly waveGapS: number;
  readonly seed: number;
  readonly out: string;
  /**
   * Roles served by a second pool of a larger model (14B on A100s) instead of the 8B pool: a
   * multi-model workflow, where a wave moves from one pool to the other.
   */
  readonly largeRoles: readonly string[];
  readonly largeReplicas: number;
  /** Also run the peak-concurrency sweep (fewer sessions in the same arrival burst). */
  readonly sweep: boolean;
  /** A host-memory KV tier of this many tokens per replica, for every policy (0: none). */
  readonly hostKvTokens: number;
  /** Every request but the last reading its context asks to keep its KV this long (0: none). */
  readonly sessionKvTtlS: number;
  /** What the simulated clients send to identify their workflows (see IdentityMode). */
  readonly identity: IdentityMode;
  /** ext-proc replicas (gateway cores fed round-robin, sharing live sessions). */
  readonly extProcReplicas: number;
  /** Virtual milliseconds before one replica's events reach the others. */
  readonly replicaDelayMs: number;
}

export const DEFAULT_POLICIES = 'round-robin,least-request,prefix-aware,session-affinity,pythia';

const DEFAULTS = {
  workload: 'coding,research',
  policies: DEFAULT_POLICIES,
  replicas: '8',
  sessions: '600',
  rate: '20',
  warmup: '40',
  waves: '1',
  'wave-gap': '300',
  seed: '1',
  out: 'bench/results/latest',
  'large-roles': '',
  'host-kv-tokens': '0',
  'session-kv-ttl-s': '0',
  identity: 'headers',
  'extproc-replicas': '1',
  'replica-delay-ms': String(DEFAULT_REPLICA_DELAY_MS),
} as const;

/** Generated workloads (besides FILE.jsonl traces). */
export const WORKLOADS = ['coding', 'research', 'coding-long', 'research-long'] as const;

export const HELP = `npm run bench -- [options]

Runs each workload under each policy on a simulated cluster in virtual time and writes
DIR/report.json, DIR/report.md and SVG charts.

  --workload LIST        coding, research, coding-long, research-long or FILE.jsonl (a trace
                         to replay), comma-separated
                         (default ${DEFAULTS.workload})
  --policies LIST        comma-separated policies (default ${DEFAULTS.policies}); each is
                         <routing>[-no-<lever>][-with-<lever>][@<order>][+<scaling>], or a
                         peer's queue: llm-d-flow, dynamo-wspt, or oracle (the oracle bound,
                         a reference: see docs/bench.md)
                           routing  round-robin, least-request, prefix-aware, session-affinity, llm-d,
                                    dynamo, pythia
                           lever    placement, priority, warming, retention (pythia only; -no- switches off,
                                    -with- switches on one off by default)
                           order    flow control on, releasing in this order: fcfs,
                                    oldest-session-first, workflow-aware, wspt
                           scaling  autoscaler (forecast) or reactive-autoscaler[:S] (queue length,
                                    scale-down window S seconds, 300 by default)
  --replicas N           replicas of the 8B pool, the most when autoscaled (default ${DEFAULTS.replicas})
  --sessions N           measured sessions per workload (default ${DEFAULTS.sessions})
  --rate R               session arrivals per second (default ${DEFAULTS.rate})
  --warmup N             warm-up sessions at a quarter of the rate, not measured (default ${DEFAULTS.warmup})
  --waves N              measured sessions in N waves (default ${DEFAULTS.waves})
  --wave-gap S           seconds of quiet between waves (default ${DEFAULTS['wave-gap']})
  --seed N               workload seed (default ${DEFAULTS.seed})
  --large-roles LIST     roles served by a second pool of a 14B model on A100s (default none)
  --large-replicas N     replicas of that pool (default half of --replicas)
  --host-kv-tokens N     a host-memory KV tier of N tokens per replica, every policy (default 0: none)
  --session-kv-ttl-s S   every request asks its replica to keep its KV S seconds, unless no later
                         step reads it (a fixed TTL, as a client could set; default 0: none)
  --identity MODE        what clients send to identify their workflows: headers (the three
                         Pythia headers), native (only a Claude-Code-style session header) or
                         none (only the OpenAI body); see docs/identity.md (default ${DEFAULTS.identity})
  --extproc-replicas N   ext-proc replicas: N gateway cores fed round-robin (as Envoy spreads
                         ext_proc streams), sharing live sessions (default 1)
  --replica-delay-ms D   virtual ms before one replica's events reach the others (default
                         ${DEFAULTS['replica-delay-ms']}: the p50 staleness measured on loopback NATS)
  --no-sweep             skip the peak-concurrency sweep
  --out DIR              output directory (default ${DEFAULTS.out})
  --help                 this text

A flag given twice takes its last value.`;

export { UsageError };

export type ParsedCommandLine =
  { readonly help: true } | { readonly help: false; readonly options: RunnerOptions };

/** The flags with a value and a default; `--large-replicas`' default depends on `--replicas`. */
const STRING_FLAGS = Object.fromEntries(
  Object.keys(DEFAULTS).map((flag) => [flag, { type: 'string' as const }]),
) as Record<keyof typeof DEFAULTS, { type: 'string' }>;

const list = (s: string) => s.split(',');

const NUMBER_KINDS = {
  positive: { integer: false, zeroAllowed: false, expected: 'a number > 0' },
  positiveInt: { integer: true, zeroAllowed: false, expected: 'an integer > 0' },
  nonNegative: { integer: false, zeroAllowed: true, expected: 'a number >= 0' },
  nonNegativeInt: { integer: true, zeroAllowed: true, expected: 'an integer >= 0' },
} as const;

function workloadsFrom(text: string, problems: string[]): string[] {
  const workloads = list(text);
  for (const w of workloads)
    if (!(WORKLOADS as readonly string[]).includes(w) && !w.endsWith('.jsonl'))
      problems.push(
        `--workload: unknown workload "${w}" (expected ${WORKLOADS.join(', ')} or a FILE.jsonl trace)`,
      );
  return workloads;
}

function identityFrom(text: string, problems: string[]): IdentityMode {
  if ((IDENTITY_MODES as readonly string[]).includes(text)) return text as IdentityMode;
  problems.push(`--identity: unknown mode "${text}" (expected ${IDENTITY_MODES.join(', ')})`);
  return 'headers';
}

function policiesFrom(text: string, problems: string[]): PolicySpec[] {
  const policies: PolicySpec[] = [];
  const labels = new Set<string>();
  for (const p of list(text)) {
    try {
      const spec = parsePolicySpec(p);
      // The label is the report's key: a policy given twice would overwrite its first run.
      if (labels.has(formatPolicySpec(spec))) problems.push(`--policies: policy "${p}" given twice`);
      labels.add(formatPolicySpec(spec));
      policies.push(spec);
    } catch (err) {
      if (!(err instanceof PolicySpecError)) throw err;
      problems.push(`--policies: ${err.message}`);
    }
  }
  return policies;
}

/** Parses and validates `argv` (without node and the script); throws UsageError listing every problem. */
export function parseRunnerOptions(argv: readonly string[]): ParsedCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...STRING_FLAGS,
        'large-replicas': { type: 'string' },
        'no-sweep': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError([(err as Error).message]);
  }
  if (values['help'] === true) return { help: true };
  const text = (name: keyof typeof DEFAULTS): string => {
    const v = values[name];
    return typeof v === 'string' ? v : DEFAULTS[name];
  };

  const problems: string[] = [];
  const number = (name: string, raw: string, kind: keyof typeof NUMBER_KINDS): number => {
    const v = Number(raw);
    const { integer, zeroAllowed, expected } = NUMBER_KINDS[kind];
    const ok =
      raw.trim() !== '' &&
      Number.isFinite(v) &&
      (!integer || Number.isInteger(v)) &&
      (zeroAllowed ? v >= 0 : v > 0);
    if (!ok) problems.push(`--${name} ${JSON.stringify(raw)}: expected ${expected}`);
    return v;
  };

  // Fields in the help's order, so that the problems are listed in that order too.
  const replicas = number('replicas', text('replicas'), 'positiveInt');
  const largeReplicas = values['large-replicas'];
  const options: RunnerOptions = {
    workloads: workloadsFrom(text('workload'), problems),
    policies: policiesFrom(text('policies'), problems),
    replicas,
    sessions: number('sessions', text('sessions'), 'positiveInt'),
    rate: number('rate', text('rate'), 'positive'),
    warmup: number('warmup', text('warmup'), 'nonNegativeInt'),
    waves: number('waves', text('waves'), 'positiveInt'),
    waveGapS: number('wave-gap', text('wave-gap'), 'nonNegative'),
    seed: number('seed', text('seed'), 'nonNegativeInt'),
    largeRoles: list(text('large-roles')).filter(Boolean),
    largeReplicas:
      typeof largeReplicas === 'string'
        ? number('large-replicas', largeReplicas, 'positiveInt')
        : Math.max(1, Math.round(replicas / 2)),
    sweep: values['no-sweep'] !== true,
    hostKvTokens: number('host-kv-tokens', text('host-kv-tokens'), 'nonNegativeInt'),
    sessionKvTtlS: number('session-kv-ttl-s', text('session-kv-ttl-s'), 'nonNegative'),
    out: text('out'),
    identity: identityFrom(text('identity'), problems),
    extProcReplicas: number('extproc-replicas', text('extproc-replicas'), 'positiveInt'),
    replicaDelayMs: number('replica-delay-ms', text('replica-delay-ms'), 'nonNegative'),
  };
  if (options.out === '') problems.push('--out: expected a directory');
  if (problems.length > 0) throw new UsageError(problems);
  return { help: false, options };
}
