// npm run bench -- [options] (--help lists them)
// Runs each workload under each policy on a simulated cluster in virtual time and writes
// DIR/report.json, DIR/report.md and the charts. Wiring only: options, plans, runs,
// comparisons and the report writer are each in their own module.
import { emptySeries } from './chart-series.js';
import { gitCommit, optionsOrExit } from './cli.js';
import { HELP, parseRunnerOptions } from './options.js';
import { progressBar } from './progress.js';
import { benchReport } from './report.js';
import { writeReport } from './report-writer.js';
import { runWorkload } from './run-workload.js';
import { engineExtras, simPoolsFor } from './sim-pools.js';
import type { PolicySummary } from './summary.js';

const options = optionsOrExit(process.argv.slice(2), {
  name: 'bench',
  help: HELP,
  parse: parseRunnerOptions,
});
const setup = {
  simPools: simPoolsFor(options),
  replicas: options.replicas,
  seed: options.seed,
  extras: {
    ...engineExtras(options),
    identity: options.identity,
    extProcReplicas: { count: options.extProcReplicas, delayMs: options.replicaDelayMs },
  },
};
const bar = process.stderr.isTTY ? progressBar(process.stderr) : null;
const log = (line: string) => process.stderr.write(`${line}\n`);
const results: Record<string, Record<string, PolicySummary>> = {};
const series = emptySeries();
for (const workload of options.workloads) {
  const run = runWorkload(workload, options, setup, bar, log);
  results[workload] = run.rows;
  series.jct[workload] = run.jct;
  if (run.replicas.length > 0) series.replicas[workload] = run.replicas;
  if (run.sweep) series.sweep[workload] = run.sweep;
}
bar?.clear();

const report = benchReport(options, setup.simPools, gitCommit(), results);
process.stdout.write(await writeReport(options.out, report, series));
