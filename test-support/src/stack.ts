// The services of one deployment in-process: ext-proc, the profiler (when NATS is
// configured) and an Envoy-faithful client connected to ext-proc. Shared by the NATS
// integration tests and the live bench.
import type { PythiaConfig } from '../../common/src/config/schema.js';
import type { Logger } from '../../common/src/logger.js';
import {
  type ExtProcService,
  type ExtProcServiceOptions,
  startExtProc,
} from '../../ext-proc/src/adapters/service.js';
import { type ProfilerService, startProfiler } from '../../profiler/src/adapters/service.js';
import { DEFAULT_FILTER, EnvoyExtProcClient, type EnvoyFilterOptions } from './envoy-ext-proc-client.js';

export interface Stack {
  readonly extProc: ExtProcService;
  /** Replaceable: tests restart the profiler. */
  profiler: ProfilerService | null;
  readonly client: EnvoyExtProcClient;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The Envoy filter the client behaves as (tests: TEST_FILTER). */
  readonly filter?: EnvoyFilterOptions;
  /** ext-proc's clock (tests: a ManualClock they move). */
  readonly clock?: ExtProcServiceOptions['clock'];
  /** The profiler's clock, in unix milliseconds. */
  readonly profilerNow?: () => number;
  /**
   * Expose the process_* and nodejs_* families on ext-proc's admin port (one registry per
   * process may hold them; the demo runs every service in one process).
   */
  readonly processMetrics?: boolean;
}

export async function startStack(
  config: PythiaConfig,
  log: Logger,
  options: StackOptions = {},
): Promise<Stack> {
  const { clock, profilerNow } = options;
  const extProc = await startExtProc(config, {
    log: log.child({ service: 'ext-proc' }),
    collectProcessMetrics: options.processMetrics ?? false,
    ...(clock ? { clock } : {}),
  });
  const profiler = config.nats
    ? await startProfiler(config, {
        log: log.child({ service: 'profiler' }),
        collectProcessMetrics: false,
        ...(profilerNow ? { now: profilerNow } : {}),
      })
    : null;
  await profiler?.started;
  const client = new EnvoyExtProcClient(`127.0.0.1:${extProc.grpcPort}`, options.filter ?? DEFAULT_FILTER);
  await client.waitForReady();
  const stack: Stack = {
    extProc,
    profiler,
    client,
    async stop() {
      client.close();
      await stack.profiler?.stop();
      await extProc.stop();
    },
  };
  return stack;
}
