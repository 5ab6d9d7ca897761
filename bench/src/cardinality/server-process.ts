// Child process of the cardinality bench: the real ext_proc service with the default
// bounds on a free port. Prints `PORT <n>`; answers each IPC `mem` message with its memory
// (after a full collection when run with --expose-gc) and its session tracker's figures.
// An optional argument bounds the per-session tables (ext_proc.max_tracked_sessions) so a
// smaller flood fills them.
import { parseConfig } from '../../../common/src/config/load.js';
import { createLogger } from '../../../common/src/logger.js';
import { startExtProc } from '../../../ext-proc/src/adapters/service.js';
import { memoryNow } from './memory.js';

const config = parseConfig({
  listen: '127.0.0.1:0',
  admin: '127.0.0.1:0',
  log_level: 'warn',
  ...(process.argv[2] ? { ext_proc: { max_tracked_sessions: Number(process.argv[2]) } } : {}),
  // No model servers listen at these addresses: no scraping.
  // Warming on (prompts and histories are learned; no model is loaded, so nothing is
  // predicted and no warm request is sent); a profile that indexes prompt prefixes.
  scheduler: { scrape_interval_ms: 0, reactive_profile: 'prefix-aware' },
  pools: [
    {
      name: 'pool-a',
      models: ['bench-model'],
      endpoints: Array.from({ length: 8 }, (_, i) => ({ address: `127.0.0.${i + 1}:8000` })),
    },
  ],
});
const service = await startExtProc(config, { log: createLogger('ext-proc', 'warn') });
process.on('message', (m) => {
  if (m !== 'mem') return;
  process.send?.({
    ...memoryNow(),
    tracked: service.sessions.size,
    trackedBytes: service.sessions.sizeBytes,
  });
});
process.stdout.write(`PORT ${service.grpcPort}\n`);
