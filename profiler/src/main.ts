// profiler process entry point. Wiring only.
import { ConfigError } from '../../core/src/errors.js';
import { runService } from '../../common/src/service-main.js';
import { startProfiler } from './adapters/service.js';

await runService(
  'profiler',
  (config, log) => startProfiler(config, { log }),
  (config, path) => {
    if (!config.nats) throw new ConfigError(path, [{ path: 'nats.url', message: 'the profiler needs NATS' }]);
  },
);
