// Child process for the hot-path bench: runs either our ext_proc service or the echo
// baseline on a free port, prints `PORT <n>` and serves until killed. One process each,
// so each server gets one core as in the targets.
import * as grpc from '@grpc/grpc-js';
import { parseConfig } from '../../../common/src/config/load.js';
import { createLogger } from '../../../common/src/logger.js';
import { startExtProc } from '../../../ext-proc/src/adapters/service.js';
import { addEchoService } from './echo-server.js';

const kind = process.argv[2];
const endpoints = Number(process.argv[3] ?? 64);
/** With a NATS url, ext-proc shares live sessions with the other replicas on it. */
const natsUrl = process.argv[4];
// The bench ends each server with SIGTERM: exit normally so `--cpu-prof` (BENCH_SERVER_FLAGS)
// still writes its profile.
process.on('SIGTERM', () => process.exit(0));

if (kind === 'echo') {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  addEchoService(server);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`PORT ${port}\n`);
  });
} else {
  const config = parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'warn',
    ...(natsUrl ? { nats: { url: natsUrl } } : {}),
    // No model servers listen at these addresses: no scraping, no warming.
    scheduler: { scrape_interval_ms: 0, levers: { warming: false } },
    pools: [
      {
        name: 'pool-a',
        models: ['bench-model'],
        endpoints: Array.from({ length: endpoints }, (_, i) => ({
          address: `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:8000`,
        })),
      },
    ],
  });
  const service = await startExtProc(config, { log: createLogger('ext-proc', 'warn') });
  await service.ready;
  process.stdout.write(`PORT ${service.grpcPort}\n`);
}
