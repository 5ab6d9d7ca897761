// npm run bench:replicas -- [--sessions N] [--rate R] [--delay-ms D] [--seed N] [--identity MODE]
// Pythia's mean JCT with 1, 2 and 4 ext-proc replicas on coding and research at a loaded
// point: N real gateway cores fed round-robin (as Envoy spreads ext_proc streams), sharing
// live sessions through pythia.replica.v1 events delivered D virtual ms late. Also prints
// the replica events and bytes per routed request. `--identity native|none`: the clients send
// only a session header, or nothing but the body (each core identifies the requests it gets).
// Wiring only.
import { parseArgs } from 'node:util';
import { plansFor } from './plans.js';
import { parsePolicySpec } from './policy-spec.js';
import { runPolicy } from './run-policy.js';
import { parseRunnerOptions } from './options.js';
import { engineExtras, simPoolsFor } from './sim-pools.js';
import { DEFAULT_REPLICA_DELAY_MS } from '../sim/ext-proc-replicas.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '600' },
    rate: { type: 'string', default: '20' },
    'delay-ms': { type: 'string', default: String(DEFAULT_REPLICA_DELAY_MS) },
    seed: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '1,2,4' },
    identity: { type: 'string', default: 'headers' },
  },
});
const delayMs = Number(values['delay-ms']);
const counts = String(values.replicas).split(',').map(Number);
const parsed = parseRunnerOptions([
  '--sessions',
  String(values.sessions),
  '--rate',
  String(values.rate),
  '--seed',
  String(values.seed),
  '--identity',
  String(values.identity),
]);
if (parsed.help) process.exit(0);
const options = parsed.options;
const spec = parsePolicySpec('pythia');
console.log(
  `pythia, ${options.sessions} sessions at ${options.rate}/s (+${options.warmup} warm-up), ${options.replicas} replicas of the 8B pool, replica events ${delayMs} ms late, identity ${options.identity}`,
);
console.log(
  '| workload | ext-proc replicas | mean JCT (s) | vs 1 replica | p95 JCT (s) | events/request | bytes/request |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const workload of ['coding', 'research']) {
  const plans = plansFor(workload, options, (m) => console.error(m));
  let base: number | null = null;
  for (const count of counts) {
    const { summary, figures } = runPolicy(spec, plans, {
      simPools: simPoolsFor(options),
      replicas: options.replicas,
      seed: options.seed,
      extras: { ...engineExtras(options), identity: options.identity, extProcReplicas: { count, delayMs } },
    });
    const jct = summary.jct_mean_s ?? Number.NaN;
    base ??= jct;
    const delta = count === counts[0] ? '' : `${(((jct - base) / base) * 100).toFixed(2)}%`;
    console.log(
      `| ${workload} | ${count} | ${jct} | ${delta} | ${summary.jct_p95_s} | ${figures.replicaEventsPerRequest.toFixed(2)} | ${Math.round(figures.replicaBytesPerRequest)} |`,
    );
  }
}
