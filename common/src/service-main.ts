// The process entry of every service: configuration from --config or PYTHIA_CONFIG (every
// problem reported, exit 2), a pino logger, the service, and a clean stop on SIGINT/SIGTERM.
import { configPathFromArgs, loadConfigFile } from './config/load.js';
import type { PluginCatalogue } from './config/profiles.js';
import type { PythiaConfig } from './config/schema.js';
import { ConfigError } from '../../core/src/errors.js';
import { createLogger, type Logger } from './logger.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export async function runService(
  name: string,
  start: (config: PythiaConfig, log: Logger) => Promise<Stoppable>,
  check: (config: PythiaConfig, path: string) => void = () => {},
  /** The scheduling plugins, for a service that schedules (their types are checked with the rest). */
  plugins?: PluginCatalogue,
): Promise<void> {
  const path = configPathFromArgs(process.argv.slice(2), process.env);
  if (!path) {
    process.stderr.write(`usage: npm run ${name} -- --config FILE   (or set PYTHIA_CONFIG)\n`);
    process.exit(2);
  }
  let config: PythiaConfig;
  try {
    config = loadConfigFile(path, plugins);
    check(config, path);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger(name, config.log_level);
  const service = await start(config, log);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      service.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
