import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_REPLICA_DELAY_MS } from '../src/sim/ext-proc-replicas.js';
import { HELP, type RunnerOptions, UsageError, parseRunnerOptions } from '../src/runner/options.js';
import { formatPolicySpec } from '../src/runner/policy-spec.js';

function options(...argv: string[]): RunnerOptions {
  const parsed = parseRunnerOptions(argv);
  assert.equal(parsed.help, false);
  return (parsed as { options: RunnerOptions }).options;
}

function problems(...argv: string[]): readonly string[] {
  try {
    parseRunnerOptions(argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.problems;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
}

test('no flags: the default run', () => {
  const o = options();
  assert.deepEqual(
    { ...o, policies: o.policies.map(formatPolicySpec) },
    {
      workloads: ['coding', 'research'],
      policies: ['round-robin', 'least-request', 'prefix-aware', 'session-affinity', 'pythia'],
      replicas: 8,
      sessions: 600,
      rate: 20,
      warmup: 40,
      waves: 1,
      waveGapS: 300,
      seed: 1,
      out: 'bench/results/latest',
      largeRoles: [],
      largeReplicas: 4,
      sweep: true,
      hostKvTokens: 0,
      sessionKvTtlS: 0,
      identity: 'headers',
      extProcReplicas: 1,
      replicaDelayMs: DEFAULT_REPLICA_DELAY_MS,
    },
  );
});

test('--extproc-replicas and --replica-delay-ms set the ext-proc replicas and their event delay', () => {
  const o = options('--extproc-replicas', '4', '--replica-delay-ms', '2.5');
  assert.equal(o.extProcReplicas, 4);
  assert.equal(o.replicaDelayMs, 2.5);
  assert.deepEqual(problems('--extproc-replicas', '0', '--replica-delay-ms=-1'), [
    '--extproc-replicas "0": expected an integer > 0',
    '--replica-delay-ms "-1": expected a number >= 0',
  ]);
});

test('--identity picks what the simulated clients send', () => {
  assert.equal(options('--identity', 'native').identity, 'native');
  assert.equal(options('--identity', 'none').identity, 'none');
  assert.deepEqual(problems('--identity', 'guess'), [
    '--identity: unknown mode "guess" (expected headers, native, none)',
  ]);
});

test('flags are typed, and a flag given twice takes its last value', () => {
  const o = options(
    '--sessions',
    '300',
    '--rate',
    '4',
    '--waves',
    '3',
    '--wave-gap',
    '120',
    '--no-sweep',
    '--large-roles',
    'planner,writer',
    '--replicas',
    '5',
    '--policies',
    'pythia+autoscaler,least-request',
    '--out',
    '/tmp/x',
    '--sessions',
    '60',
    '--seed=7',
    '--warmup',
    '0',
  );
  assert.equal(o.sessions, 60);
  assert.equal(o.rate, 4);
  assert.equal(o.waves, 3);
  assert.equal(o.waveGapS, 120);
  assert.equal(o.sweep, false);
  assert.deepEqual(o.largeRoles, ['planner', 'writer']);
  assert.equal(o.largeReplicas, 3, 'half the replicas, rounded');
  assert.equal(o.seed, 7);
  assert.equal(o.warmup, 0);
  assert.equal(o.out, '/tmp/x');
  assert.deepEqual(o.policies.map(formatPolicySpec), ['pythia+autoscaler', 'least-request']);
  assert.equal(options('--replicas', '1').largeReplicas, 1);
  assert.equal(options('--large-replicas', '2', '--replicas', '9').largeReplicas, 2);
});

test('every bad value is reported at once, with its flag', () => {
  const found = problems(
    '--replicas',
    '0',
    '--sessions',
    '2.5',
    '--rate',
    'fast',
    '--warmup=-1',
    '--waves',
    '0',
    '--wave-gap=-3',
    '--seed',
    '',
    '--large-replicas',
    '0',
    '--workload',
    'coding,chat',
    '--policies',
    'pythia,pythia-no-speed,pythia',
  );
  const expected = [
    /^--replicas "0": expected an integer > 0$/,
    /^--large-replicas "0": expected an integer > 0$/,
    /^--workload: unknown workload "chat"/,
    /^--policies: policy "pythia-no-speed": unknown lever "speed"/,
    /^--policies: policy "pythia" given twice$/,
    /^--sessions "2.5": expected an integer > 0$/,
    /^--rate "fast": expected a number > 0$/,
    /^--warmup "-1": expected an integer >= 0$/,
    /^--waves "0": expected an integer > 0$/,
    /^--wave-gap "-3": expected a number >= 0$/,
    /^--seed "": expected an integer >= 0$/,
  ];
  assert.equal(found.length, expected.length, found.join('\n'));
  for (const e of expected)
    assert.ok(
      found.some((p) => e.test(p)),
      `${e} in\n${found.join('\n')}`,
    );
});

test('unknown flags, stray arguments and missing values are errors', () => {
  assert.match(problems('--session', '5')[0] ?? '', /Unknown option '--session'/);
  assert.match(problems('coding')[0] ?? '', /Unexpected argument 'coding'/);
  assert.match(problems('--out')[0] ?? '', /argument missing/);
  assert.match(problems('--out', '--no-sweep')[0] ?? '', /ambiguous/);
});

test('--help asks for the usage text, which lists every flag', () => {
  assert.deepEqual(parseRunnerOptions(['--sessions', 'x', '--help']), { help: true });
  for (const flag of [
    'workload',
    'policies',
    'replicas',
    'sessions',
    'rate',
    'warmup',
    'waves',
    'wave-gap',
    'seed',
    'large-roles',
    'large-replicas',
    'no-sweep',
    'out',
    'help',
  ])
    assert.ok(HELP.includes(`--${flag} `), flag);
});
