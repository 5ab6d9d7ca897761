// npm run bench:scheduler: decision time of the real scheduler (pythia profile: health and
// KV-feasibility filters, headroom, prefix, session, queue and decode-load scorers, picker)
// at 16, 64, 256 and 1,024 endpoints, with the prefix index holding 100k block hashes, next
// to the least-request profile measured in the same run. Also the whole route() (prompt
// hashing, prediction, priority) for a 16 KiB prompt.
import { parseConfig } from '../../../common/src/config/load.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { parseLlmRequest } from '../../../ext-proc/src/core/envoy/openai-request.js';
import { chainedBlockHashes } from '../../../core/src/prompt/prefix-hash.js';
import { BUILT_IN_PLUGINS } from '../../../ext-proc/src/core/scheduling/registry.js';
import { quantileSorted } from '../../../core/src/stats/quantile.js';
import type { SchedulingRequest } from '../../../ext-proc/src/core/scheduling/types.js';
import { coreConfigFrom } from '../../../profiler/src/core/core-config.js';
import { buildOffline } from '../../../profiler/src/core/offline-build.js';
import { codingWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import { seededRandom } from '../../../test-support/src/workloads/rng.js';
import { synthesizeTraces } from '../../../test-support/src/workloads/synthesize-traces.js';

const iterationsArg = process.argv.indexOf('--iterations');
const ITERATIONS = iterationsArg === -1 ? 20_000 : Number(process.argv[iterationsArg + 1]);
const PREFIXES = 100_000;

function measure(fn: () => void): { p50: number; p99: number } {
  for (let i = 0; i < 2000; i++) fn(); // JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return { p50: quantileSorted(times, 0.5), p99: quantileSorted(times, 0.99) };
}

const base = parseConfig({ pools: [{ name: 'none', models: ['none'] }] });
const model = buildOffline(
  synthesizeTraces(codingWorkload({ sessions: 200, ratePerS: 1, seed: 5 })),
  coreConfigFrom(base.profiler, 128),
).models[0];
const rows = [];
for (const n of [16, 64, 256, 1024]) {
  const random = seededRandom(n);
  const config = parseConfig({
    pools: [
      {
        name: 'h100',
        models: ['llama'],
        endpoints: Array.from({ length: n / 2 }, (_, i) => ({ address: `127.1.${i >> 8}.${i & 255}:8000` })),
      },
      {
        name: 'a100',
        models: ['llama'],
        kv_capacity_tokens: 230_000,
        speed: 0.55,
        endpoints: Array.from({ length: n / 2 }, (_, i) => ({ address: `127.2.${i >> 8}.${i & 255}:8000` })),
      },
    ],
    scheduler: { scrape_interval_ms: 0, prefix: { max_blocks: PREFIXES + 1000 } },
  });
  let now = 1_000_000;
  const core = createGatewayCore(config, { clock: { now: () => now, wallNow: () => now }, random });
  if (model) core.models.set({ ...model, mode: 'proactive' });
  const endpoints = [...core.cluster.allEndpoints()];
  for (const ep of endpoints) {
    ep.waiting = Math.floor(random() * 8);
    ep.kvUsage = random() * 0.9;
    ep.local.inFlight = Math.floor(random() * 20);
    ep.local.reservedTokens = random() * 200_000;
    ep.local.decodeTokens = random() * 20_000;
    ep.local.overflowSum = random();
  }
  // 100k tracked prefix blocks spread over the endpoints, in runs of 16.
  for (let i = 0; i < PREFIXES / 16; i++) {
    const hashes = chainedBlockHashes(`prefix-${i}`.padEnd(16 * 1024, '.'), 1024);
    core.prefixIndex.record(hashes, endpoints[i % endpoints.length]?.address ?? '', now);
  }
  const prompt = 'prefix-42'.padEnd(16 * 1024, '.');
  const request: SchedulingRequest = {
    model: 'llama',
    identity: { workflow: 'coding', session: 's', agent: 'engineer' },
    promptTokens: 4096,
    maxTokens: null,
    prefixHashes: chainedBlockHashes(prompt, 1024),
    outputBound: 1500,
    outputExpected: 700,
    overflow: 0.01,
    siblingsInFlight: 0,
  };
  const pythia = BUILT_IN_PLUGINS.build('pythia', config.scheduler.profiles);
  const least = BUILT_IN_PLUGINS.build('least-request', config.scheduler.profiles);
  const decide = measure(() => core.scheduler.decide(request, pythia));
  const baseline = measure(() => core.scheduler.decide(request, least));
  const body = Buffer.from(
    JSON.stringify({
      model: 'llama',
      messages: [
        { role: 'system', content: prompt },
        { role: 'user', content: 'go' },
      ],
    }),
  );
  const llm = parseLlmRequest(body, 'chat');
  let k = 0;
  const route = measure(() => {
    now += 1;
    const input = {
      llm,
      identity: { workflow: 'coding', session: `s${k++ % 1000}`, agent: 'engineer' },
      requestId: 'r',
      exchange: 'r',
      sessionEnd: false,
    };
    const routed = core.router.route(input);
    core.cluster.release(routed.endpoint);
  });
  rows.push({
    endpoints: n,
    prefix_blocks: core.prefixIndex.size,
    pythia_decide_p50_us: +decide.p50.toFixed(1),
    pythia_decide_p99_us: +decide.p99.toFixed(1),
    least_request_p50_us: +baseline.p50.toFixed(1),
    full_route_p50_us: +route.p50.toFixed(1),
    full_route_p99_us: +route.p99.toFixed(1),
  });
}
console.table(rows);
console.log(
  'targets: pythia decision p50 <= 20 us at 64 endpoints and <= 200 us at 1,024, prefix index at 100k prefixes',
);
