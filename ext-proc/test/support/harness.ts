// Starts the real ext_proc service on free ports with a test configuration and an
// Envoy-faithful client pointed at it.

import {
  EnvoyExtProcClient,
  type EnvoyFilterOptions,
  TEST_FILTER,
} from '../../../test-support/src/envoy-ext-proc-client.js';
import { parseConfig } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { captureLogger } from '../../../test-support/src/log-capture.js';
import { type ExtProcService, startExtProc } from '../../src/adapters/service.js';

export const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

export function testConfig(patch: Record<string, unknown> = {}): PythiaConfig {
  return parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'debug',
    // No model servers listen at these addresses: no scraping, no warming.
    scheduler: { scrape_interval_ms: 0, levers: { warming: false } },
    pools: [
      {
        name: 'llama-8b',
        models: [MODEL],
        endpoints: [{ address: '127.0.0.11:8000' }, { address: '127.0.0.12:8000' }],
      },
      {
        name: 'qwen-14b',
        models: ['Qwen/Qwen2.5-14B-Instruct'],
        endpoints: [{ address: '127.0.1.11:8000' }],
      },
      { name: 'scaled-to-zero', models: ['idle-model'], endpoints: [] },
    ],
    ...patch,
  });
}

export interface Harness {
  readonly service: ExtProcService;
  readonly client: EnvoyExtProcClient;
  readonly logs: () => Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startHarness(
  config: PythiaConfig = testConfig(),
  filter: Partial<EnvoyFilterOptions> = {},
): Promise<Harness> {
  const { log, lines } = captureLogger('ext-proc');
  const service = await startExtProc(config, { log, collectProcessMetrics: false });
  const client = new EnvoyExtProcClient(`127.0.0.1:${service.grpcPort}`, { ...TEST_FILTER, ...filter });
  await client.waitForReady();
  return {
    service,
    client,
    logs: lines,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

export function chatHeaders(
  extra: Array<[string, string]> = [],
  path = '/v1/chat/completions',
): Array<[string, string]> {
  return [
    [':method', 'POST'],
    [':path', path],
    [':authority', 'gateway.local'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['x-request-id', '6f0c7a52-9d9b-4c1e-8d3a-6a2b1c0d9e8f'],
    ...extra,
  ];
}

export function chatBody(model = MODEL, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      model,
      messages: [
        { role: 'system', content: 'You are a planner.' },
        { role: 'user', content: 'go' },
      ],
      ...extra,
    }),
  );
}

export async function metricsText(service: ExtProcService): Promise<string> {
  return service.metrics.registry.metrics();
}
