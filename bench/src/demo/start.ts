// npm start: the whole system on one machine. NATS (a child nats-server on a free port with a
// temporary store, or NATS_URL), ext-proc, the profiler and the autoscaler with
// config/demo.yaml, simulated GPU replicas in real time on the pools' ports, and a gateway
// on PYTHIA_GATEWAY_PORT (default 10000): real Envoy with envoy/envoy.yaml when installed,
// else the Envoy-faithful HTTP gateway. It replays a short agent workload through the
// gateway with live progress, prints a summary, then keeps serving the OpenAI API until
// Ctrl-C, SIGTERM or SIGHUP, and stops every part (no orphan process, no temp store left).
// A port already taken (a second `npm start`) is named, and the demo moves to free ports.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfigFile } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { createLogger } from '../../../common/src/logger.js';
import { ConfigError } from '../../../core/src/errors.js';
import { TestNatsServer, natsServerAvailable } from '../../../test-support/src/nats-server.js';
import { startAutoscaler } from '../../../autoscaler/src/adapters/service.js';
import type { EnvoyExtProcClient } from '../../../test-support/src/envoy-ext-proc-client.js';
import { HttpGateway } from '../../../test-support/src/http-gateway.js';
import { A100_QWEN_14B, H100_LLAMA_8B } from '../sim/profiles.js';
import { SimulatedReplica } from '../sim/server.js';
import { startStack } from '../../../test-support/src/stack.js';
import { codingWorkload, researchWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import { emptyMeasured, playSession, summarize } from '../e2e/driver.js';
import { Lifecycle } from './lifecycle.js';
import { demoPorts, describeTaken, onFreePorts, portInUse, takenPorts } from './ports.js';
import { ProgressBar } from './progress.js';
import { replayRows, scalingRows, workflowRows } from './summary.js';

const CONFIG = process.env['PYTHIA_CONFIG'] ?? 'config/demo.yaml';
const GATEWAY_PORT_SET = process.env['PYTHIA_GATEWAY_PORT'] !== undefined;
const GATEWAY_PORT = Number(process.env['PYTHIA_GATEWAY_PORT'] ?? 10000);
const ENVOY_ADMIN_PORT = 9901; // envoy/envoy.yaml
const TIME_SCALE = Number(process.env['PYTHIA_DEMO_TIME_SCALE'] ?? 4);
const SESSIONS = Number(process.env['PYTHIA_DEMO_SESSIONS'] ?? 24);
const log = createLogger('demo', process.env['PYTHIA_LOG_LEVEL'] ?? 'warn');
const out = (text: string) => void process.stdout.write(text);

/** A reason to stop that the user can act on; printed without a stack. */
class DemoError extends Error {}

const life = new Lifecycle(log, out);
life.install();

async function startNats(): Promise<string> {
  const given = process.env['NATS_URL'];
  if (given) return given;
  if (!natsServerAvailable()) {
    throw new DemoError(
      'nats-server is not installed. Install it (Debian/Ubuntu: apt-get install nats-server; macOS: brew install nats-server) or set NATS_URL to a NATS server with JetStream.',
    );
  }
  const nats = await TestNatsServer.start({ ownProcessGroup: true });
  life.add('nats-server', () => nats.stop());
  nats.onUnexpectedExit((code) => {
    if (life.isStopping) return;
    log.error({ code }, 'nats-server exited; stopping everything');
    process.stderr.write(`nats-server exited (code ${code}); stopping.\n`);
    void life.shutdown(1);
  });
  return nats.url;
}

/** Simulated replicas for every pool endpoint, on its configured port or a free one. */
async function startReplicas(config: PythiaConfig, freePorts: boolean): Promise<PythiaConfig['pools']> {
  const sims: SimulatedReplica[] = [];
  life.add('simulated replicas', async () => void (await Promise.all(sims.map((s) => s.stop()))));
  const pools: PythiaConfig['pools'] = [];
  for (const pool of config.pools) {
    const endpoints = [];
    for (const ep of pool.endpoints) {
      const sim = new SimulatedReplica({
        profile: pool.name.includes('14b') ? A100_QWEN_14B : H100_LLAMA_8B,
        model: pool.models[0] ?? pool.name,
        policy: pool.priority_field ? 'priority' : 'fcfs',
        timeScale: TIME_SCALE,
        flushMs: 50,
        startupMs: 0,
      });
      sims.push(sim);
      await sim.start(freePorts ? 0 : Number(ep.address.split(':').pop()));
      endpoints.push({ address: sim.address });
    }
    pools.push({ ...pool, endpoints });
  }
  return pools;
}

async function startGateway(config: PythiaConfig, client: EnvoyExtProcClient, port: number): Promise<number> {
  const gateway = new HttpGateway({
    client,
    clusters: new Map(config.pools.map((p) => [p.name, p.endpoints.map((e) => e.address)])),
    fallbackCluster: config.pools[0]?.name ?? '',
    models: config.pools.flatMap((p) => p.models),
    // As envoy/envoy.yaml: the largest body ext_proc accepts, plus room for its own 413.
    bufferLimitBytes: config.ext_proc.max_body_bytes + 512 * 1024,
  });
  life.add('gateway', () => gateway.stop());
  await gateway.start(port, '127.0.0.1');
  return gateway.port;
}

function startEnvoy(path: string): void {
  const envoy: ChildProcess = spawn(path, ['-c', 'envoy/envoy.yaml', '--log-level', 'warn'], {
    stdio: 'ignore',
  });
  life.add('envoy', () => {
    if (envoy.exitCode !== null) return;
    const exited = new Promise((r) => envoy.once('exit', r));
    envoy.kill('SIGTERM');
    return exited.then(() => undefined);
  });
  envoy.once('exit', (code) => {
    if (life.isStopping) return;
    log.error({ code }, 'envoy exited');
    process.stderr.write(`envoy exited (code ${code}); stopping.\n`);
    void life.shutdown(1);
  });
}

async function waitForGateway(url: string): Promise<void> {
  for (let i = 0; i < 100 && !life.isStopping; i++) {
    const ok = await fetch(`${url}/v1/models`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new DemoError(`the gateway at ${url} did not answer`);
}

async function main(): Promise<void> {
  const base = loadConfigFile(CONFIG);
  const envoyPath = spawnSync('sh', ['-c', 'command -v envoy'], { encoding: 'utf8' }).stdout.trim();
  const useEnvoy = envoyPath !== '' && GATEWAY_PORT === 10000;

  const taken = await takenPorts(demoPorts(base, GATEWAY_PORT, useEnvoy ? ENVOY_ADMIN_PORT : null));
  const freePorts = taken.length > 0;
  if (freePorts) {
    const which = describeTaken(taken);
    if (useEnvoy)
      throw new DemoError(
        `${which} (another npm start?). Envoy runs with the fixed ports of envoy/envoy.yaml: stop the other process first.`,
      );
    if (GATEWAY_PORT_SET && taken.some((u) => u.what === 'gateway'))
      throw new DemoError(`PYTHIA_GATEWAY_PORT ${GATEWAY_PORT} is in use; choose another port.`);
    out(`${which} (another npm start?): this instance runs on free ports instead.\n`);
  }

  const natsUrl = await startNats();
  const pools = await startReplicas(base, freePorts);
  const config: PythiaConfig = {
    ...(freePorts ? onFreePorts(base) : base),
    pools,
    nats: { ...(base.nats ?? { trace_max_age_s: 86_400, trace_max_bytes: 1024 ** 3 }), url: natsUrl },
  };
  // One process runs every service: process_* and nodejs_* are exposed once, by ext-proc.
  const stack = await startStack(config, log, { processMetrics: true });
  life.add('ext-proc and profiler', () => stack.stop());
  const autoscaler = await startAutoscaler(config, {
    log: log.child({ service: 'autoscaler' }),
    collectProcessMetrics: false,
  });
  life.add('autoscaler', () => autoscaler.stop());

  const gatewayPort = useEnvoy
    ? (startEnvoy(envoyPath), GATEWAY_PORT)
    : await startGateway(config, stack.client, freePorts && !GATEWAY_PORT_SET ? 0 : GATEWAY_PORT);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await waitForGateway(gatewayUrl);

  const model = config.pools[0]?.models[0] ?? 'llama';
  const plans = [
    ...codingWorkload({ sessions: SESSIONS, ratePerS: 1, seed: 7, model }),
    ...researchWorkload({ sessions: Math.round(SESSIONS / 2), ratePerS: 0.5, seed: 8, model }),
  ].sort((a, b) => a.arrivalS - b.arrivalS);
  out(
    [
      `Pythia for Envoy is up: gateway ${gatewayUrl}/v1 (${useEnvoy ? 'Envoy' : 'Envoy-faithful gateway'}), NATS ${natsUrl}.`,
      `Replaying ${plans.length} agent sessions (${SESSIONS} coding, ${plans.length - SESSIONS} research) on simulated GPUs at ${TIME_SCALE}x real time: about a minute at the defaults.`,
      'Replies are placeholder text ("tok tok …"): the simulator models timing and token counts, not language.',
      '',
    ].join('\n'),
  );

  const m = emptyMeasured();
  m.firstStart = Date.now();
  const progress = new ProgressBar(plans.length, () => m.outputTokens, out);
  progress.start();
  const t0 = Date.now();
  const signal = life.signal;
  await Promise.all(
    plans.map(async (plan) => {
      const delay = Math.max(0, (plan.arrivalS * 1000) / TIME_SCALE - (Date.now() - t0));
      try {
        await sleep(delay, undefined, { signal });
        await playSession(gatewayUrl, plan, m, true, TIME_SCALE, signal);
        progress.sessionDone();
      } catch (err) {
        if (signal.aborted) return; // stopping: the servers under the request are closing
        m.failures++;
        log.warn({ err, session: plan.session }, 'session failed');
      }
    }),
  );
  progress.stop(!life.isStopping);
  if (life.isStopping) return;

  await stack.profiler?.flush();
  await autoscaler.tick();
  const serving = new Map(config.pools.map((p) => [p.name, p.endpoints.length]));
  out(
    '\nJCT: job completion time, a whole session from its first request to its last answer. TTFT: time to first token.\n',
  );
  console.table({
    ...replayRows(summarize(m, TIME_SCALE)),
    ...workflowRows(stack.profiler?.core.models() ?? []),
    ...scalingRows(autoscaler.decisions.values(), serving),
  });
  out(
    [
      '',
      `OpenAI API: ${gatewayUrl}/v1 (send x-pythia-workflow, x-pythia-session, x-pythia-agent)`,
      `metrics: ext-proc http://127.0.0.1:${stack.extProc.adminPort}/metrics (with process_* and nodejs_*), profiler http://127.0.0.1:${stack.profiler?.adminPort}/metrics, autoscaler http://127.0.0.1:${autoscaler.adminPort}/metrics`,
      `learned models: NATS_URL=${natsUrl} npm run profiler:cli -- show   (or http://127.0.0.1:${stack.profiler?.adminPort}/v1/models)`,
      'serving until Ctrl-C',
      '',
    ].join('\n'),
  );
  if (process.env['PYTHIA_DEMO_EXIT'] === '1')
    await life.shutdown(summarize(m, TIME_SCALE).failed_requests > 0 ? 1 : 0);
}

try {
  await main();
} catch (err) {
  if (!life.isStopping) {
    const port = portInUse(err);
    const message =
      err instanceof DemoError || err instanceof ConfigError
        ? err.message
        : port !== null
          ? `port ${port} is in use (another npm start?); stop that process or free the port.`
          : `could not start: ${(err as Error).message}`;
    process.stderr.write(`${message}\n`);
    if (!(err instanceof DemoError || err instanceof ConfigError || port !== null))
      log.error({ err }, 'start failed');
    await life.shutdown(1);
  }
}
