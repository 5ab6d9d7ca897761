// In-process cost of one request through the real StreamProcessor (request headers,
// body, response headers, final body chunk): the CPU our service adds per request,
// with no gRPC or driver noise around it.
import { parseConfig } from '../../../common/src/config/load.js';
import { ExtProcMetrics } from '../../../ext-proc/src/adapters/metrics.js';
import { settingsFromConfig } from '../../../ext-proc/src/adapters/service.js';
import { systemClock, systemRequestIds } from '../../../ext-proc/src/adapters/system-sources.js';
import type { HeaderValue } from '../../../common/src/envoy/ext-proc-messages.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { StreamProcessor } from '../../../ext-proc/src/core/envoy/stream-processor.js';
import { quantileSorted } from '../../../core/src/stats/quantile.js';
import { REPLICA_EVENTS } from '../../../core/src/wire/channels.js';

export interface CoreCost {
  readonly bodyBytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The same with replica events built and encoded for the other replicas (as before a NATS publish). */
  readonly replicasP50Ms: number;
  readonly replicasP99Ms: number;
}

export function measureCoreCost(
  bodies: readonly Buffer[],
  endpoints: number,
  iterations: number,
): CoreCost[] {
  const config = oneModelPool(endpoints);
  const { router } = createGatewayCore(config, { clock: systemClock, random: Math.random });
  let seq = 0;
  const shared = createGatewayCore(config, {
    clock: systemClock,
    random: Math.random,
    replica: {
      id: 'bench',
      sink: {
        emit: (body) => {
          REPLICA_EVENTS.encode({ replica: 'bench', seq: ++seq, unixMs: systemClock.wallNow(), body });
        },
      },
    },
  }).router;
  const metrics = new ExtProcMetrics(false);
  const settings = settingsFromConfig(config);
  const headers: HeaderValue[] = [
    [':method', 'POST'],
    [':path', '/v1/chat/completions'],
    ['x-pythia-workflow', 'coding'],
    ['x-pythia-session', 'bench-session'],
    ['x-pythia-agent', 'planner'],
  ].map(([key, value]) => ({ key: key as string, raw_value: Buffer.from(value as string) }));
  const status: HeaderValue[] = [{ key: ':status', raw_value: Buffer.from('200') }];
  const usage = Buffer.from('data: {"choices":[],"usage":{"completion_tokens":42}}\n\ndata: [DONE]\n\n');
  const once = (r: typeof router, body: Buffer): number => {
    const t = performance.now();
    const p = new StreamProcessor(settings, r, metrics, systemClock, systemRequestIds);
    p.handle({ request_headers: { headers: { headers } } });
    p.handle({ request_body: { body, end_of_stream: true } });
    p.handle({ response_headers: { headers: { headers: status } } });
    p.handle({ response_body: { body: usage, end_of_stream: true } });
    p.close();
    return performance.now() - t;
  };
  return bodies.map((body) => {
    const alone: number[] = [];
    const withReplicas: number[] = [];
    // Interleaved, so drift in machine load falls on both alike.
    for (let i = 0; i < iterations; i++) {
      alone.push(once(router, body));
      withReplicas.push(once(shared, body));
    }
    alone.sort((a, b) => a - b);
    withReplicas.sort((a, b) => a - b);
    return {
      bodyBytes: body.length,
      p50Ms: quantileSorted(alone, 0.5),
      p99Ms: quantileSorted(alone, 0.99),
      replicasP50Ms: quantileSorted(withReplicas, 0.5),
      replicasP99Ms: quantileSorted(withReplicas, 0.99),
    };
  });
}

/**
 * What folding another replica's request costs this one: decoding and applying its start
 * and end events (a 4 KiB-prompt request's footprint and prefix blocks), in microseconds per
 * request. Every replica pays it for every request of every other replica.
 */
export function measureApplyCost(endpoints: number, requests: number): number {
  const config = oneModelPool(endpoints);
  const core = createGatewayCore(config, {
    clock: systemClock,
    random: Math.random,
    replica: { id: 'self', sink: { emit: () => {} } },
  });
  const wire: Uint8Array[] = [];
  for (let i = 0; i < requests; i++) {
    const identity = { workflow: 'coding', session: `s${i % 1000}`, agent: 'planner' };
    const endpoint = `127.0.0.${(i % endpoints) + 1}:8000`;
    wire.push(
      REPLICA_EVENTS.encode({
        replica: 'other',
        seq: 2 * i + 1,
        unixMs: 0,
        body: {
          kind: 'start',
          flight: i + 1,
          identity,
          endpoint,
          reservedTokens: 1500,
          overflow: 0.01,
          decodeTokens: 500,
          prefixHashes: [1, 2, 3, 4].map((b) => b * 1e9 + (i % 1000)),
          prompt: null,
          order: null,
          settles: [],
        },
      }),
      REPLICA_EVENTS.encode({
        replica: 'other',
        seq: 2 * i + 2,
        unixMs: 0,
        body: { kind: 'end', flight: i + 1, identity, sessionEnd: false, history: null },
      }),
    );
  }
  const t = performance.now();
  for (const bytes of wire) core.replicas?.apply(REPLICA_EVENTS.decode(bytes), systemClock.now());
  return ((performance.now() - t) * 1000) / requests;
}

/** One pool of `endpoints` addresses serving the bench's model. */
function oneModelPool(endpoints: number): ReturnType<typeof parseConfig> {
  return parseConfig({
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
}
