// npm run bench:e2e -- [--workload coding|research|FILE.jsonl] [--policies a,b] [--sessions N]
//   [--rate R] [--replicas N] [--time-scale X] [--out DIR]
// The live path: simulated replicas in real time (time-scaled) behind their OpenAI-compatible
// HTTP servers, the ext_proc service, NATS, the profiler, and the Envoy-faithful HTTP gateway,
// driven by an open-loop Node load driver replaying a workload over HTTP with SSE. Reports the
// same metrics as the virtual-time bench, next to a virtual-time run of the same sessions, as
// the check that both paths agree.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { captureLogger } from '../../../test-support/src/log-capture.js';
import { TestNatsServer, natsServerAvailable } from '../../../test-support/src/nats-server.js';
import { HttpGateway } from '../../../test-support/src/http-gateway.js';
import { runCluster } from '../sim/cluster.js';
import { H100_LLAMA_8B } from '../sim/profiles.js';
import { SimulatedReplica } from '../sim/server.js';
import { startStack } from '../../../test-support/src/stack.js';
import { codingWorkload, researchWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { type Measured, emptyMeasured, playSession, summarize } from './driver.js';
import { readReplayFile } from '../../../test-support/src/workloads/trace-replay.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const workload = arg('workload', 'coding');
const policies = arg('policies', 'least-request,pythia').split(',');
const sessions = Number(arg('sessions', '24'));
const warmup = Number(arg('warmup', '12'));
const rate = Number(arg('rate', '2'));
const replicas = Number(arg('replicas', '4'));
const timeScale = Number(arg('time-scale', '4'));
const out = arg('out', 'bench/results/e2e');
const MODEL = 'llama';

function plans(): SessionPlan[] {
  if (workload.endsWith('.jsonl')) return readReplayFile(workload).sessions;
  const gen = workload === 'research' ? researchWorkload : codingWorkload;
  const warm = gen({ sessions: warmup, ratePerS: rate / 4, seed: 1001, model: MODEL }).map((p) => ({
    ...p,
    session: `warmup-${p.session}`,
  }));
  const start = (warm.at(-1)?.arrivalS ?? -20) + 20;
  const measured = gen({ sessions, ratePerS: rate, seed: 1, model: MODEL, burst: 4 }).map((p) => ({
    ...p,
    arrivalS: p.arrivalS + start,
  }));
  return [...warm, ...measured];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configFor(policy: string, natsUrl: string, endpoints: string[]): PythiaConfig {
  const pythia = policy === 'pythia';
  return parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'warn',
    nats: { url: natsUrl },
    pools: [
      {
        name: 'llama',
        models: [MODEL],
        endpoints: endpoints.map((address) => ({ address })),
        priority_field: pythia,
      },
    ],
    scheduler: {
      profile: pythia ? 'pythia' : policy,
      reactive_profile: pythia ? 'least-request' : policy,
      ...(pythia ? {} : { shadow_profile: policy }),
      levers: { placement: pythia, priority: pythia, warming: pythia },
      scrape_interval_ms: 250,
    },
    profiler: {
      admin: '127.0.0.1:0',
      session_idle_s: 5,
      end_grace_s: 0.2,
      rebuild_interval_s: 1,
      promotion: { min_sessions: 8, min_scored: 10 },
    },
  });
}

if (!natsServerAvailable()) {
  process.stderr.write('bench:e2e needs nats-server (apt-get install nats-server)\n');
  process.exit(2);
}
const all = plans();
const results: Record<string, unknown> = {};
for (const policy of policies) {
  const nats = await TestNatsServer.start();
  const sims = Array.from(
    { length: replicas },
    () =>
      new SimulatedReplica({
        profile: H100_LLAMA_8B,
        model: MODEL,
        policy: policy === 'pythia' ? 'priority' : 'fcfs',
        timeScale,
        flushMs: 50,
        startupMs: 0,
      }),
  );
  for (const s of sims) await s.start();
  const config = configFor(
    policy,
    nats.url,
    sims.map((s) => s.address),
  );
  const stack = await startStack(config, captureLogger('e2e', 'warn').log);
  const { extProc, client } = stack;
  const gateway = new HttpGateway({
    client,
    clusters: new Map([['llama', sims.map((s) => s.address)]]),
    fallbackCluster: 'llama',
    models: [MODEL],
  });
  await gateway.start(0);
  const base = `http://127.0.0.1:${gateway.port}`;
  const m: Measured = emptyMeasured();
  const t0 = Date.now();
  const measuredFrom = all.find((p) => !p.session.startsWith('warmup-'))?.arrivalS ?? 0;
  await Promise.all(
    all.map(async (plan) => {
      await sleep(Math.max(0, (plan.arrivalS * 1000) / timeScale - (Date.now() - t0)));
      const measured = !plan.session.startsWith('warmup-');
      if (measured && m.firstStart === 0) m.firstStart = t0 + (measuredFrom * 1000) / timeScale;
      await playSession(base, plan, m, measured, timeScale);
    }),
  );
  const live = summarize(m, timeScale);
  const mode = extProc.models.get(all[0]?.workflow ?? '')?.model.mode ?? 'none';
  await gateway.stop();
  await stack.stop();
  for (const s of sims) await s.stop();
  await nats.stop();
  // The same sessions in virtual time, for comparison.
  // Scrape and rebuild periods in virtual time: the live run's times the time scale. Sessions
  // complete at their end marker or after the default bench's idle window.
  const liveConfig = configFor(policy, 'nats://127.0.0.1:1', []);
  const vconfig: PythiaConfig = {
    ...liveConfig,
    scheduler: {
      ...liveConfig.scheduler,
      scrape_interval_ms: liveConfig.scheduler.scrape_interval_ms * timeScale,
    },
    profiler: {
      ...liveConfig.profiler,
      rebuild_interval_s: liveConfig.profiler.rebuild_interval_s * timeScale,
      session_idle_s: 60,
      end_grace_s: 0,
    },
  };
  const virtual = runCluster({
    config: vconfig,
    pools: [{ name: 'llama', models: [MODEL], replicas, profile: H100_LLAMA_8B }],
    priorityScheduling: policy === 'pythia',
    learn: policy === 'pythia',
    plans: all,
    seed: 1,
  });
  const vm = virtual.jctS.filter((_, i) => !virtual.jctSessions[i]?.startsWith('warmup-'));
  results[policy] = {
    live: { ...live, workflow_mode_at_end: mode },
    virtual: {
      jct_mean_s: +(vm.reduce((a, b) => a + b, 0) / Math.max(1, vm.length)).toFixed(2),
      prefix_hit_rate: +(virtual.cachedTokens / Math.max(1, virtual.promptTokens)).toFixed(3),
      sessions_completed: vm.length,
    },
  };
  process.stderr.write(`${policy}: live ${JSON.stringify(results[policy])}\n`);
}
mkdirSync(out, { recursive: true });
const report = { workload, sessions, warmup, rate, replicas, time_scale: timeScale, results };
writeFileSync(join(out, 'e2e-report.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
