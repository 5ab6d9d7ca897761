// ext-proc's message handling and gateway core in process, on one pool, with a manual clock
// and the traces and starts it publishes captured (for tests of what reaches NATS).
import { parseConfig } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import { ManualClock } from '../../../test-support/src/manual-clock.js';
import { ExtProcMetrics } from '../../src/adapters/metrics.js';
import { settingsFromConfig } from '../../src/adapters/service.js';
import { createGatewayCore } from '../../src/core/routing/gateway-core.js';

export function capturedCore() {
  const config: PythiaConfig = parseConfig({
    scheduler: { scrape_interval_ms: 0 },
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: '127.0.0.1:8000' }] }],
  });
  const clock = new ManualClock(0);
  const traces: Trace[] = [];
  const starts: RequestStart[] = [];
  const core = createGatewayCore(config, {
    clock,
    random: () => 0.5,
    traces: { publish: (t) => traces.push(t), started: (s) => starts.push(s) },
  });
  return {
    config,
    clock,
    traces,
    starts,
    core,
    settings: settingsFromConfig(config),
    metrics: new ExtProcMetrics(false),
  };
}
