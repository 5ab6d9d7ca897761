// The measurement behind flow control's per-held-request byte estimate (HELD_ENTRY_BYTES):
// N requests are held through ext-proc's real message handling in this process (a
// StreamProcessor per exchange, wired as the service wires it, every endpoint saturated),
// and the growth of the heap and of the memory outside it (the bodies' Buffers), after full
// collections, per held request is set against what the flow controller counts for it.
// What a held request keeps alive is all of it: its stream's state, the raw body, the parsed
// body, the prepared route (prefix hashes, prediction) and the queue's own entry and timer.
import { ExtProcMetrics } from '../../../ext-proc/src/adapters/metrics.js';
import { settingsFromConfig } from '../../../ext-proc/src/adapters/service.js';
import { systemClock, systemTimers } from '../../../ext-proc/src/adapters/system-sources.js';
import { SharedBodyBudget } from '../../../ext-proc/src/core/envoy/stream-hygiene.js';
import type { StreamProcessor } from '../../../ext-proc/src/core/envoy/stream-processor.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { parseConfig } from '../../../common/src/config/load.js';
import type { HeaderValue } from '../../../common/src/envoy/ext-proc-messages.js';
import { inProcessStream } from './gateway-flood.js';
import { memoryAfterGc } from './memory.js';

export interface HeldCost {
  readonly n: number;
  /** Request body bytes (the same for every request). */
  readonly bodyBytes: number;
  /** Heap and off-heap growth per held request. */
  readonly measured: number;
  /** Of which off the V8 heap (the raw bodies). */
  readonly external: number;
  /** What the flow controller counts per held request (its queue's bytes / N). */
  readonly estimated: number;
}

export interface HeldCostOptions {
  readonly n: number;
  /** Characters of the user message (ASCII): the body is about this plus 200 bytes. */
  readonly promptChars: number;
  /** Workflow requests (the Pythia headers, 50 requests a session) or plain traffic. */
  readonly workflow: boolean;
  /** Empty objects added to the body besides the prompt (JSON whose parsed form outweighs its text). */
  readonly objects?: number;
}

const headers = (pairs: ReadonlyArray<readonly [string, string]>): HeaderValue[] =>
  pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));

export function measureHeldCost(o: HeldCostOptions): HeldCost {
  const config = parseConfig({
    // The identity tables (a session per plain request by conversation chaining) have their own
    // bounds: kept out of the figure.
    identity: { chaining: false, native: { enabled: false } },
    pools: [
      {
        name: 'pool-a',
        models: ['bench-model'],
        endpoints: [{ address: '127.0.0.1:8000' }, { address: '127.0.0.1:8001' }],
      },
    ],
    scheduler: {
      scrape_interval_ms: 0,
      flow_control: {
        enabled: true,
        max_queued_requests: o.n,
        max_queued_bytes: 2 ** 45,
        queue_ttl_s: 300,
        fairness: { enabled: true, key: 'tenant' },
      },
    },
  });
  const core = createGatewayCore(config, {
    clock: systemClock,
    random: Math.random,
    timers: systemTimers(systemClock),
  });
  const flow = core.flow;
  if (!flow) throw new Error('flow control is off');
  for (const ep of core.cluster.allEndpoints()) ep.waiting = 1000;
  const settings = settingsFromConfig(config);
  const metrics = new ExtProcMetrics(false);
  const budget = new SharedBodyBudget(config.ext_proc.max_buffered_bytes_total);
  const tenantHeader = config.scheduler.flow_control.fairness.tenant_header;
  const filler = 'Read the failing test, then change the smallest thing that fixes it. ';
  const prompt = filler.repeat(Math.ceil(o.promptChars / filler.length)).slice(0, o.promptChars);
  const held: StreamProcessor[] = new Array<StreamProcessor>(o.n);
  let bodyBytes = 0;
  const before = memoryAfterGc();
  for (let i = 0; i < o.n; i++) {
    const p = inProcessStream(core, { settings, metrics, budget });
    const identity: Array<[string, string]> = o.workflow
      ? [
          ['x-pythia-workflow', 'coding'],
          ['x-pythia-session', `session-${Math.floor(i / 50)}`],
          ['x-pythia-agent', 'engineer'],
        ]
      : [];
    p.handle({
      request_headers: {
        headers: {
          headers: headers([
            [':method', 'POST'],
            [':path', '/v1/chat/completions'],
            ['content-type', 'application/json'],
            ['x-request-id', `0000${i}-0000-4000-8000-000000000000`.slice(-36)],
            [tenantHeader, `tenant-${i % 8}`],
            ...identity,
          ]),
        },
      },
    });
    // Each body distinct (a fresh string), as each request's own bytes are.
    const body = Buffer.from(
      JSON.stringify({
        model: 'bench-model',
        max_tokens: 256,
        messages: [
          { role: 'system', content: 'You are the engineer of a coding agent.' },
          { role: 'user', content: `${i} ${prompt}` },
        ],
        ...(o.objects ? { metadata: Array.from({ length: o.objects }, () => ({})) } : {}),
      }),
    );
    bodyBytes = body.length;
    const answers = p.handle({ request_body: { body, end_of_stream: true } });
    if (answers.some((a) => a.request_body !== undefined || a.immediate_response !== undefined))
      throw new Error(`request ${i} was not held`);
    held[i] = p;
  }
  const after = memoryAfterGc();
  const estimated = flow.controller.heldBytes('pool-a') / o.n;
  if (flow.controller.depth('pool-a') !== o.n) throw new Error('not every request is held');
  // Let them go: the timers would keep the process alive.
  for (const p of held) p.close();
  return {
    n: o.n,
    bodyBytes,
    measured: (after.heap - before.heap + after.external - before.external) / o.n,
    external: (after.external - before.external) / o.n,
    estimated,
  };
}

export function formatHeldCost(label: string, c: HeldCost): string {
  const verdict = c.estimated >= c.measured ? 'ok' : 'UNDER-ESTIMATED';
  return (
    `${label.padEnd(18)} body ${String(c.bodyBytes).padStart(6)} B  measured ${c.measured.toFixed(0).padStart(6)} B/request` +
    ` (${c.external.toFixed(0)} off-heap)  estimated ${c.estimated.toFixed(0).padStart(6)} B/request  ${verdict}`
  );
}
