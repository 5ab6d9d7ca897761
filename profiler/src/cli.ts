// npm run profiler:cli -- <command>
//   show [--nats URL] [--config FILE]  learned models from the NATS models bucket
//   build FILE.jsonl [--config FILE]   build models offline from a trace file and report them
// NATS for `show`: --nats, else NATS_URL, else the configuration's nats.url, else
// nats://127.0.0.1:4222; the server used is printed, and nothing is created on it.
// (Generated trace files for `build`: npm run bench:generate -- coding|research.)
import { connect } from 'nats';
import { configPathFromArgs, loadConfigFile, parseConfig } from '../../common/src/config/load.js';
import type { PythiaConfig } from '../../common/src/config/schema.js';
import { ConfigError } from '../../core/src/errors.js';
import { natsAuthOptions } from '../../common/src/nats/connection.js';
import { MODEL_BUCKET } from '../../core/src/wire/subjects.js';
import { coreConfigFrom } from './core/core-config.js';
import { listModels, natsTarget } from './adapters/model-listing.js';
import { readTraceFile } from './adapters/trace-file.js';
import { buildOffline } from './core/offline-build.js';
import { modelReport } from './core/report.js';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

function config(args: string[]): PythiaConfig {
  const path = configPathFromArgs(args, process.env);
  // Without a file: defaults (pools are irrelevant to the profiler's CLI).
  return path ? loadConfigFile(path) : parseConfig({ pools: [{ name: 'none', models: ['none'] }] });
}

async function show(args: string[]): Promise<void> {
  const cfg = config(args);
  const target = natsTarget(option(args, '--nats'), process.env, cfg.nats?.url);
  console.log(`NATS ${target.url} (${target.source}; --nats URL or NATS_URL to change)`);
  let nc;
  try {
    nc = await connect({
      servers: target.url,
      name: 'pythia-profiler-cli',
      timeout: 3000,
      ...(cfg.nats ? natsAuthOptions(cfg.nats) : {}),
    });
  } catch (err) {
    throw new Error(`cannot reach NATS at ${target.url}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const models = await listModels(nc);
    if (models === null) {
      console.log(
        `no ${MODEL_BUCKET} bucket on this server: no profiler has published here (is it the NATS your services use?)`,
      );
      return;
    }
    for (const m of models) {
      console.log(modelReport(m, 8, cfg.identity.aliases));
      console.log();
    }
    console.log(models.length === 0 ? 'no models yet' : `${models.length} workflow model(s)`);
  } finally {
    await nc.close();
  }
}

function build(args: string[]): void {
  const file = args[0];
  if (!file) throw new Error('build needs a trace file');
  const cfg = config(args.slice(1));
  const { traces, errors } = readTraceFile(file);
  for (const e of errors) console.error(`${file}:${e.line}: skipped: ${e.message}`);
  const result = buildOffline(traces, coreConfigFrom(cfg.profiler, cfg.identifiers.max_length));
  console.log(`${traces.length} traces read, ${errors.length} lines skipped`);
  for (const [reason, n] of result.rejected) console.log(`rejected (${reason}): ${n}`);
  for (const c of result.modeChanges)
    console.log(`${c.workflow}: ${c.mode} after ${c.atSession} sessions (${c.reason})`);
  console.log();
  for (const m of result.models) {
    console.log(modelReport(m, 8, cfg.identity.aliases));
    console.log();
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'show') await show(rest);
  else if (command === 'build') build(rest);
  else {
    console.error(
      'usage: npm run profiler:cli -- show [--nats URL] [--config FILE] | build FILE.jsonl [--config FILE]',
    );
    process.exit(2);
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `error: ${(err as Error).message}`);
  process.exit(1);
}
