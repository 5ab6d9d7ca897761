// Child process of the cardinality bench: the real ext_proc service with the default
// bounds on a free port. Prints `PORT <n>`; answers each IPC `mem` message with its memory
// (after a full collection when run with --expose-gc) and its session tracker's figures.
// An optional argument N shrinks the tables' entry bounds (ext_proc.max_tracked_sessions N,
// prefix index 2N blocks, N/10 agent prompts) so a smaller flood fills them.
import { createLogger } from '../../../common/src/logger.js';
import { startExtProc } from '../../../ext-proc/src/adapters/service.js';
import { floodConfig } from './flood-config.js';
import { memoryNow } from './memory.js';

const bounds = process.argv[2] ? Number(process.argv[2]) : null;
const config = floodConfig(bounds, { listen: '127.0.0.1:0', admin: '127.0.0.1:0', log_level: 'warn' });
const service = await startExtProc(config, { log: createLogger('ext-proc', 'warn') });
process.on('message', (m) => {
  if (m !== 'mem') return;
  // CPU before the full collection memoryNow() forces.
  const cpu = process.cpuUsage();
  process.send?.({
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...memoryNow(),
    tracked: service.sessions.size,
    trackedBytes: service.sessions.sizeBytes,
  });
});
process.stdout.write(`PORT ${service.grpcPort}\n`);
// Exit on SIGTERM through process.exit, so exit hooks (a --cpu-prof profile) run.
process.once('SIGTERM', () => process.exit(0));
