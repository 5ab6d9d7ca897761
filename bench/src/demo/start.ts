// npm start: the whole system on one machine. NATS (a child nats-server on a free port with a
// temporary store, or NATS_URL), ext-proc, the profiler and the autoscaler with
// config/demo.yaml, simulated GPU replicas in real time on the pools' ports, and a gateway
// on PYTHIA_GATEWAY_PORT (default 10000): real Envoy with envoy/envoy.yaml when installed,
// else the Envoy-faithful HTTP gateway. It replays a short agent workload through the
// gateway with live progress, prints a summary, then keeps serving the OpenAI API until
// Ctrl-C or SIGTERM, and stops every part (no orphan processes).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { loadConfigFile } from '../../../common/src/config/load.js';
import { createLogger } from '../../../common/src/logger.js';
import { TestNatsServer, natsServerAvailable } from '../../../test-support/src/nats-server.js';
import { type AutoscalerService, startAutoscaler } from '../../../autoscaler/src/adapters/service.js';
import { HttpGateway } from '../../../test-support/src/http-gateway.js';
import { A100_QWEN_14B, H100_LLAMA_8B } from '../sim/profiles.js';
import { SimulatedReplica } from '../sim/server.js';
import { type Stack, startStack } from '../../../test-support/src/stack.js';
import { codingWorkload, researchWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import { emptyMeasured, playSession, summarize } from '../e2e/driver.js';

const CONFIG = process.env['PYTHIA_CONFIG'] ?? 'config/demo.yaml';
const GATEWAY_PORT = Number(process.env['PYTHIA_GATEWAY_PORT'] ?? 10000);
const TIME_SCALE = Number(process.env['PYTHIA_DEMO_TIME_SCALE'] ?? 4);
const SESSIONS = Number(process.env['PYTHIA_DEMO_SESSIONS'] ?? 24);
const log = createLogger('demo', process.env['PYTHIA_LOG_LEVEL'] ?? 'warn');

const parts: Array<{ name: string; stop: () => Promise<void> | void }> = [];
let shuttingDown = false;
async function shutdown(code: number): Promise<never> {
  // Set now: once every server is closed Node may exit before the last await returns.
  process.exitCode = code;
  if (!shuttingDown) {
    shuttingDown = true;
    process.stdout.write('\nstopping…\n');
    for (const p of parts.reverse()) {
      try {
        await p.stop();
      } catch (err) {
        log.warn({ err, part: p.name }, 'stop failed');
      }
    }
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

let natsUrl = process.env['NATS_URL'];
if (!natsUrl) {
  if (!natsServerAvailable()) {
    process.stderr.write(
      'nats-server is not installed. Install it (Debian/Ubuntu: apt-get install nats-server; macOS: brew install nats-server) or set NATS_URL to a NATS server with JetStream.\n',
    );
    process.exit(1);
  }
  const nats = await TestNatsServer.start();
  nats.onUnexpectedExit((code) => {
    if (shuttingDown) return;
    log.error({ code }, 'nats-server exited; stopping everything');
    process.stderr.write(`nats-server exited (code ${code}); stopping.\n`);
    void shutdown(1);
  });
  parts.push({ name: 'nats-server', stop: () => nats.stop() });
  natsUrl = nats.url;
}

const base = loadConfigFile(CONFIG);
const config = {
  ...base,
  nats: { ...(base.nats ?? { trace_max_age_s: 86_400, trace_max_bytes: 1024 ** 3 }), url: natsUrl },
};

// Simulated replicas on the pools' configured ports (the addresses envoy/envoy.yaml names).
const sims: SimulatedReplica[] = [];
for (const pool of config.pools) {
  for (const ep of pool.endpoints) {
    const sim = new SimulatedReplica({
      profile: pool.name.includes('14b') ? A100_QWEN_14B : H100_LLAMA_8B,
      model: pool.models[0] ?? pool.name,
      policy: pool.priority_field ? 'priority' : 'fcfs',
      timeScale: TIME_SCALE,
      flushMs: 50,
      startupMs: 0,
    });
    await sim.start(Number(ep.address.split(':').pop()));
    sims.push(sim);
  }
}
parts.push({
  name: 'simulated replicas',
  stop: async () => void (await Promise.all(sims.map((s) => s.stop()))),
});

const stack: Stack = await startStack(config, log);
parts.push({ name: 'ext-proc and profiler', stop: () => stack.stop() });
const autoscaler: AutoscalerService = await startAutoscaler(config, {
  log: log.child({ service: 'autoscaler' }),
});
parts.push({ name: 'autoscaler', stop: () => autoscaler.stop() });

const envoyPath = spawnSync('sh', ['-c', 'command -v envoy'], { encoding: 'utf8' }).stdout.trim();
let envoy: ChildProcess | null = null;
if (envoyPath && GATEWAY_PORT === 10000) {
  envoy = spawn(envoyPath, ['-c', 'envoy/envoy.yaml', '--log-level', 'warn'], { stdio: 'ignore' });
  envoy.once('exit', (code) => {
    if (!shuttingDown) {
      log.error({ code }, 'envoy exited');
      void shutdown(1);
    }
  });
  parts.push({ name: 'envoy', stop: () => void envoy?.kill('SIGTERM') });
} else {
  const gateway = new HttpGateway({
    client: stack.client,
    clusters: new Map(config.pools.map((p) => [p.name, p.endpoints.map((e) => e.address)])),
    fallbackCluster: config.pools[0]?.name ?? '',
    models: config.pools.flatMap((p) => p.models),
  });
  await gateway.start(GATEWAY_PORT, '127.0.0.1');
  parts.push({ name: 'gateway', stop: () => gateway.stop() });
}
const gatewayUrl = `http://127.0.0.1:${GATEWAY_PORT}`;
for (let i = 0; i < 100; i++) {
  if (
    await fetch(`${gatewayUrl}/v1/models`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 100));
}
process.stdout.write(
  `Pythia for Envoy is up: gateway ${gatewayUrl}/v1 (${envoy ? 'Envoy' : 'Envoy-faithful gateway'}), NATS ${natsUrl}, simulated replicas at time scale ${TIME_SCALE}x.\nReplaying ${SESSIONS} coding and ${Math.round(SESSIONS / 2)} research sessions…\n`,
);

// The demo workload, on the first pool's model.
const model = config.pools[0]?.models[0] ?? 'llama';
const plans = [
  ...codingWorkload({ sessions: SESSIONS, ratePerS: 1, seed: 7, model }),
  ...researchWorkload({ sessions: Math.round(SESSIONS / 2), ratePerS: 0.5, seed: 8, model }),
].sort((a, b) => a.arrivalS - b.arrivalS);
const m = emptyMeasured();
m.firstStart = Date.now();
let done = 0;
const progress = setInterval(() => {
  const bar = '#'.repeat(Math.round((done / plans.length) * 40)).padEnd(40, '.');
  process.stdout.write(`\r[${bar}] ${done}/${plans.length} sessions, ${m.outputTokens} output tokens`);
}, 500);
const t0 = Date.now();
await Promise.all(
  plans.map(async (plan) => {
    await new Promise((r) =>
      setTimeout(r, Math.max(0, (plan.arrivalS * 1000) / TIME_SCALE - (Date.now() - t0))),
    );
    await playSession(gatewayUrl, plan, m, true, TIME_SCALE);
    done++;
  }),
);
clearInterval(progress);
await stack.profiler?.flush();
await autoscaler.tick();
const s = summarize(m, TIME_SCALE);
const rows: Record<string, string | number> = {
  'sessions completed': s.sessions_completed,
  'mean JCT (simulated s)': s.jct_mean_s,
  'p95 JCT (simulated s)': s.jct_p95_s,
  'TTFT p50 (s)': s.ttft_p50_s,
  'output tokens/s': s.output_tokens_per_s,
  'prefix-cache hit rate': s.prefix_hit_rate,
  'failed requests': s.failed_requests,
};
for (const wf of stack.profiler?.core.models() ?? []) {
  rows[`workflow ${wf.workflow}`] =
    `${wf.mode}, ${wf.regex}, next-agent accuracy ${(wf.nextAgentAccuracy * 100).toFixed(0)}%, p99 coverage ${(wf.outputBoundCoverage * 100).toFixed(0)}%`;
}
for (const d of autoscaler.decisions.values())
  rows[`scaling ${d.pool}`] = `${d.current} -> ${d.target} (${d.reason})`;
process.stdout.write('\n\n');
console.table(rows);
process.stdout.write(
  [
    '',
    `OpenAI API: ${gatewayUrl}/v1 (send x-pythia-workflow, x-pythia-session, x-pythia-agent)`,
    `metrics: ext-proc http://127.0.0.1:${stack.extProc.adminPort}/metrics, profiler http://127.0.0.1:${stack.profiler?.adminPort}/metrics (models: /v1/models), autoscaler http://127.0.0.1:${autoscaler.adminPort}/metrics (decisions: /v1/decisions)`,
    'serving until Ctrl-C',
    '',
  ].join('\n'),
);
if (process.env['PYTHIA_DEMO_EXIT'] === '1') await shutdown(s.failed_requests > 0 ? 1 : 0);
