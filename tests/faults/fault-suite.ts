// The fault suite (`npm run test:faults`): the live stack as separate processes (nats-server,
// two ext-proc replicas, profiler leader + standby, autoscaler leader + standby, two simulated model
// servers) under a steady load of workflow sessions sent the way the test-support gateway
// sends them (Envoy-faithful ext_proc client: streams round robin over the health-checked
// ext-proc replicas as envoy/envoy.yaml configures the cluster, fail-open, then the upstream),
// while in turn nats-server, the profiler leader, the autoscaler leader, one model server and
// one ext-proc replica are SIGKILLed and restarted. Prints and asserts client requests failed per fault, sessions lost,
// sessions stored twice, traces lost, and the seconds to take a dead endpoint out and back in,
// and routing quality per fault (routing-quality.ts): the share of requests sent to their
// session's endpoint and the share carrying a proactive prediction, per 1 s window, against
// the 2 s before the fault (back: neither below 80% of it beyond chance in a later window);
// asserted back within 5 s of each of the profiler's, the autoscaler's and an ext-proc replica's
// kill; and the restarted ext-proc replica, once it takes streams again, decides as the live
// one does (it caught up with the live sessions before reporting healthy).
import assert from 'node:assert/strict';
import { parseConfig } from '../../common/src/config/load.js';
import {
  DEFAULT_FILTER,
  ENVOY_EXT_PROC_HEALTH_CHECK,
  EnvoyExtProcClient,
} from '../../test-support/src/envoy-ext-proc-client.js';
import { forward } from '../../test-support/src/forward.js';
import { freePort } from '../../test-support/src/free-port.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { allTracesAcknowledged, SummaryRecorder, tally } from './observe.js';
import {
  excessMissZ,
  type FaultQuality,
  faultQuality,
  missesOf,
  quality,
  type RoutedRequest,
} from './routing-quality.js';
import { configFile, ServiceProcess } from './service-process.js';

const MODEL = 'llama';
const CLIENTS = 6;
const AGENTS = ['planner', 'coder', 'coder', 'reviewer'];
const STEADY_MS = 4000;
/** One-sided z above which the restarted ext-proc replica decides worse than the live one (significance 0.001). */
const RESTARTED_Z_MAX = 3.09;
/**
 * Each session's requests share its context (about 2k tokens), as an agent team's requests
 * share their conversation: where it is cached is what session affinity keeps, so routing
 * quality can be seen to fall when that knowledge is lost.
 */
const context = (session: string) =>
  `Context of session ${session}. ${'The team works through the task step by step. '.repeat(170)}`;

if (!natsServerAvailable()) {
  console.log('fault suite skipped: nats-server is not installed (apt-get install nats-server)');
  process.exit(0);
}

const started = Date.now();
const children: ServiceProcess[] = [];
const spawnService = (name: string, service: 'profiler' | 'autoscaler' | 'ext-proc', path: string) => {
  const p = ServiceProcess.service(name, service, path);
  children.push(p);
  return p;
};
const spawnModel = (name: string, port: number) => {
  const p = ServiceProcess.spawn(name, 'tests/faults/sim-replica.ts', [String(port), MODEL]);
  children.push(p);
  return p;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(port: number, name: string, labels = ''): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
    return line ? Number(line.split(' ').pop()) : null;
  } catch {
    return null;
  }
}

const nats = await TestNatsServer.start();
// Every summary as it is stored: the stream keeps only the newest max_sessions_kept (2000) of
// a workflow, fewer than a fast machine plays here.
const recorder = await SummaryRecorder.start(nats.url);
const [grpcPort, adminPort, grpcPortB, adminPortB, modelA, modelB] = [
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
];
const endpoints = [`127.0.0.1:${modelA}`, `127.0.0.1:${modelB}`];
const raw = {
  listen: `127.0.0.1:${grpcPort}`,
  admin: `127.0.0.1:${adminPort}`,
  log_level: 'info',
  nats: { url: nats.url, lease_ttl_s: 2 },
  // A generous scrape timeout: on a loaded test machine a slow scrape is not a dead server.
  scheduler: { scrape_interval_ms: 250, scrape_timeout_ms: 2000, unhealthy_after_failures: 2 },
  pools: [{ name: 'pool', models: [MODEL], endpoints: endpoints.map((address) => ({ address })) }],
  profiler: { admin: '127.0.0.1:0', session_idle_s: 8, end_grace_s: 0.5, rebuild_interval_s: 1 },
  autoscaler: { admin: '127.0.0.1:0', keda_listen: '127.0.0.1:0', interval_s: 1 },
};
parseConfig(raw);
const path = configFile(raw);
// The second ext-proc replica: the same configuration on its own ports.
const pathB = configFile({ ...raw, listen: `127.0.0.1:${grpcPortB}`, admin: `127.0.0.1:${adminPortB}` });
const extProcHosts = [`127.0.0.1:${grpcPort}`, `127.0.0.1:${grpcPortB}`];

const models = [spawnModel('model-a', modelA), spawnModel('model-b', modelB)];
const extProcs = [
  spawnService('ext-proc-a', 'ext-proc', path),
  spawnService('ext-proc-b', 'ext-proc', pathB),
];
const profilers = [
  spawnService('profiler-1', 'profiler', path),
  spawnService('profiler-2', 'profiler', path),
];
const autoscalers = [
  spawnService('autoscaler-1', 'autoscaler', path),
  spawnService('autoscaler-2', 'autoscaler', path),
];
await Promise.all([
  ...models.map((m) => m.logged('model server ready', 120_000)),
  ...extProcs.map((e) => e.logged('ext_proc service ready', 120_000)),
  ...profilers.map((p) => p.logged('profiler state restored', 120_000)),
  ...autoscalers.map((a) => a.logged('autoscaler started', 120_000)),
]);
// Envoy's defaults but a 1 s message timeout: this shared test machine is slower than Envoy's
// 200 ms budget assumes, and a spurious fail-open would only hide requests from learning.
const client = new EnvoyExtProcClient(
  extProcHosts,
  { ...DEFAULT_FILTER, messageTimeoutMs: 1000 },
  undefined,
  ENVOY_EXT_PROC_HEALTH_CHECK,
);
await client.waitForReady();
console.log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

// --- steady load: sessions of 4 sequential requests per client ---------------------------
let phase = 'warmup';
const failed = new Map<string, number>();
const sent = new Map<string, number>();
const modelServerFailureTimes: number[] = [];
/** Why requests failed, by phase (status or error), to tell a fault's failures from the machine's. */
const reasons = new Map<string, Map<string, number>>();
/**
 * Session -> requests that reached ext-proc (a trace each), and the sessions with a request on
 * the killed ext-proc replica while it was killed (in flight, or sent to it before the health
 * check took it out: Envoy fails those open).
 */
const played = new Map<string, number>();
const touchedExtProcKill = new Set<string>();
const killedExtProc = extProcHosts[1] as string;
/** Requests that failed open, by phase. */
const failedOpen = new Map<string, number>();
/** Every request sent upstream, with the ext-proc replica that decided it. */
const decided: Array<RoutedRequest & { readonly host: string }> = [];
/** Session -> the phase it started in (to say where lost sessions come from). */
const startedIn = new Map<string, string>();
/** Every request sent upstream, for routing quality; a session's last endpoint. */
const routed: RoutedRequest[] = [];
const lastEndpoint = new Map<string, string>();
let running = true;

async function oneRequest(session: string, agent: string, end: boolean): Promise<void> {
  const p = phase;
  const atMs = Date.now();
  sent.set(p, (sent.get(p) ?? 0) + 1);
  const body = Buffer.from(
    JSON.stringify({
      model: MODEL,
      max_tokens: 8,
      messages: [
        { role: 'system', content: context(session) },
        { role: 'user', content: `${agent} ${session}` },
      ],
    }),
  );
  try {
    const result = await forward(
      client,
      [
        [':method', 'POST'],
        [':path', '/v1/chat/completions'],
        [':authority', 'gateway'],
        [':scheme', 'http'],
        ['content-type', 'application/json'],
        ['x-pythia-workflow', 'faults'],
        ['x-pythia-session', session],
        ['x-pythia-agent', agent],
        ...(end ? ([['x-pythia-session-end', 'true']] as Array<[string, string]>) : []),
      ],
      body,
      new Map([['pool', endpoints]]),
      'pool',
    );
    if (result.extProcHost === killedExtProc && (p === 'ext-proc' || phase === 'ext-proc'))
      touchedExtProcKill.add(session);
    if (result.request.kind === 'continue' && result.request.failedOpen !== null)
      failedOpen.set(p, (failedOpen.get(p) ?? 0) + 1);
    if (result.upstream !== null) {
      const previous = lastEndpoint.get(session);
      const r: RoutedRequest = {
        atMs,
        sticky: previous === undefined ? null : previous === result.upstream,
        annotated:
          result.request.kind === 'continue' &&
          result.request.headers.some(([k, v]) => k === 'x-pythia-mode' && v === 'proactive'),
      };
      routed.push(r);
      decided.push({ ...r, host: result.extProcHost });
      lastEndpoint.set(session, result.upstream);
    }
    if (result.status >= 400)
      throw new Error(`status ${result.status}: ${result.body.toString().slice(0, 60)}`);
    if (result.request.kind === 'continue' && result.request.failedOpen === null)
      played.set(session, (played.get(session) ?? 0) + 1);
  } catch (err) {
    // Counted against the fault in force when it failed (a request started just before a
    // kill and failed by it belongs to that kill).
    const p = phase;
    if (p === 'model-server') modelServerFailureTimes.push(Date.now());
    failed.set(p, (failed.get(p) ?? 0) + 1);
    const why = reasons.get(p) ?? new Map<string, number>();
    const key = (err as Error).message;
    why.set(key, (why.get(key) ?? 0) + 1);
    reasons.set(p, why);
  }
}

async function clientLoop(c: number): Promise<void> {
  for (let s = 0; running; s++) {
    const session = `c${c}-s${s}`;
    startedIn.set(session, phase);
    for (let i = 0; i < AGENTS.length; i++)
      await oneRequest(session, AGENTS[i] as string, i === AGENTS.length - 1);
  }
}
const figures: Record<string, unknown> = {};
const loops = Array.from({ length: CLIENTS }, (_, c) => clientLoop(c));
// The faults start once the workflow is learned and routed proactively (its last requests all
// carry the prediction), after a steady period that is each first fault's baseline.
await waitFor(
  'the workflow routed proactively',
  () => routed.length >= 24 && routed.slice(-24).every((r) => r.annotated),
  120_000,
);
figures['proactive_after_s'] = (Date.now() - started) / 1000;
await pause(STEADY_MS);

// --- faults, in turn -------------------------------------------------------------------------
/** When each fault struck (ms). */
const faultAt = new Map<string, number>();

phase = 'nats';
faultAt.set('nats', Date.now());
await nats.kill();
await pause(3000);
await nats.restart();
await pause(STEADY_MS);

async function leaderOf(procs: ServiceProcess[], gauge: string): Promise<ServiceProcess> {
  return waitFor(`a ${gauge}`, async () => {
    for (const p of procs) if ((await metric(await p.field<number>('admin_port'), gauge)) === 1) return p;
    return null;
  });
}

phase = 'profiler';
{
  const leader = await leaderOf(profilers, 'pythia_profiler_leader');
  const killedAt = Date.now();
  faultAt.set('profiler', killedAt);
  await leader.kill();
  const standby = profilers.find((p) => p !== leader) as ServiceProcess;
  await waitFor(
    'the profiler standby leading',
    async () => (await metric(await standby.field<number>('admin_port'), 'pythia_profiler_leader')) === 1,
  );
  figures['profiler_takeover_s'] = (Date.now() - killedAt) / 1000;
  profilers.splice(profilers.indexOf(leader), 1, spawnService('profiler-3', 'profiler', path));
  await pause(STEADY_MS);
}

phase = 'autoscaler';
{
  const leader = await leaderOf(autoscalers, 'pythia_autoscaler_leader');
  const killedAt = Date.now();
  faultAt.set('autoscaler', killedAt);
  await leader.kill();
  const standby = autoscalers.find((p) => p !== leader) as ServiceProcess;
  await waitFor(
    'the autoscaler standby leading',
    async () => (await metric(await standby.field<number>('admin_port'), 'pythia_autoscaler_leader')) === 1,
  );
  figures['autoscaler_takeover_s'] = (Date.now() - killedAt) / 1000;
  await pause(STEADY_MS);
}

phase = 'model-server';
{
  const healthy = () =>
    metric(adminPort, 'pythia_ext_proc_endpoint_healthy', `pool="pool",endpoint="${endpoints[1]}"`);
  const killedAt = Date.now();
  faultAt.set('model-server', killedAt);
  await models[1]?.kill();
  await waitFor('the dead endpoint taken out', async () => (await healthy()) === 0);
  figures['endpoint_out_s'] = (Date.now() - killedAt) / 1000;
  figures['model_server_killed_at'] = killedAt;
  await pause(1000);
  const again = spawnModel('model-b-2', modelB);
  await again.logged('model server ready', 120_000);
  const restartedAt = Date.now(); // from when it answers again (process start time excluded)
  await waitFor('the endpoint back in', async () => (await healthy()) === 1);
  figures['endpoint_back_s'] = (Date.now() - restartedAt) / 1000;
  await pause(STEADY_MS);
}

// One of the two ext-proc replicas: the gateway's health check takes it out, streams go to the
// other replica meanwhile; restarted, it catches up before its health check passes.
phase = 'ext-proc';
let restartedInAt: number;
{
  const killedAt = Date.now();
  faultAt.set('ext-proc', killedAt);
  await extProcs[1]?.kill();
  await client.whenHealthy((h) => !h.includes(killedExtProc));
  figures['ext_proc_out_s'] = (Date.now() - killedAt) / 1000;
  const again = spawnService('ext-proc-b-2', 'ext-proc', pathB);
  extProcs[1] = again;
  await again.logged('ext_proc service ready', 120_000);
  // It caught up from the PYTHIA_REPLICA stream (which the NATS kill above emptied: the live
  // replica created it again on reconnecting) before its health check passes.
  figures['ext_proc_replayed_events'] = await again.field<number>('replayed', 120_000);
  figures['ext_proc_ready_s'] = (Date.now() - killedAt) / 1000;
  await client.whenHealthy((h) => h.includes(killedExtProc));
  restartedInAt = Date.now();
  figures['ext_proc_in_s'] = (restartedInAt - killedAt) / 1000;
}
phase = 'after';
await pause(STEADY_MS);
const endedAt = Date.now();

running = false;
await Promise.all(loops);

// --- settle and count ------------------------------------------------------------------------
await waitFor('every trace acknowledged', () => allTracesAcknowledged(nats.url), 120_000);
await recorder.caughtUp();
const stored = recorder.stored;
const steady = new Map([...played].filter(([s]) => !touchedExtProcKill.has(s)));
const acrossExtProc = new Map([...played].filter(([s]) => touchedExtProcKill.has(s)));
const t = tally(steady, stored);
const tx = tally(acrossExtProc, stored);
const perFault = Object.fromEntries([...sent.keys()].map((p) => [p, `${failed.get(p) ?? 0}/${sent.get(p)}`]));
console.log('client requests failed/sent by fault phase:', JSON.stringify(perFault));
for (const [p, why] of reasons) console.log(`  ${p} failures:`, JSON.stringify(Object.fromEntries(why)));
console.log('learning (sessions not in flight on the killed ext-proc):', JSON.stringify(t));
console.log('learning (sessions in flight on the killed ext-proc):', JSON.stringify(tx));
if (recorder.missed > 0) console.log(`summaries discarded by retention before read: ${recorder.missed}`);
const lostSessions = [...steady.keys()].filter((s) => (stored.get(s) ?? []).length === 0);
const incompleteSessions = [...steady].filter(([s, n]) => Math.max(0, ...(stored.get(s) ?? [])) < n);
if (incompleteSessions.length > 0)
  console.log(
    'incomplete sessions (started in):',
    incompleteSessions
      .slice(0, 10)
      .map(([s, n]) => `${s} (${startedIn.get(s)}, ${stored.get(s)?.join('+')}/${n})`)
      .join(', '),
  );
if (lostSessions.length > 0)
  console.log(
    'lost sessions (started in):',
    lostSessions
      .slice(0, 10)
      .map((s) => `${s} (${startedIn.get(s)})`)
      .join(', '),
  );
console.log('failover:', JSON.stringify(figures));
console.log('requests failed open by phase:', JSON.stringify(Object.fromEntries(failedOpen)));
// The restarted replica's decisions against the live one's in the first seconds after it took
// streams again (what it knows of sessions begun before it came back is from catch-up).
const afterRestart = decided.filter((r) => r.atMs >= restartedInAt && r.atMs < restartedInAt + 3000);
const restartedQ = quality(
  afterRestart.filter((r) => r.host === killedExtProc),
  restartedInAt,
  restartedInAt + 3000,
);
const liveQ = quality(
  afterRestart.filter((r) => r.host !== killedExtProc),
  restartedInAt,
  restartedInAt + 3000,
);
console.log(
  "the 3 s after the restarted replica was back, its decisions / the live one's:",
  `sticky ${restartedQ.sticky?.toFixed(2)} (${restartedQ.withPrevious}) / ${liveQ.sticky?.toFixed(2)} (${liveQ.withPrevious}),`,
  `proactive ${restartedQ.annotated?.toFixed(2)} (${restartedQ.requests}) / ${liveQ.annotated?.toFixed(2)} (${liveQ.requests});`,
  `restarted worse by z ${(['sticky', 'annotated'] as const).map((k) => excessMissZ(missesOf(restartedQ, k), missesOf(liveQ, k)).toFixed(2)).join(' / ')} (fails above ${RESTARTED_Z_MAX})`,
);

// Routing quality per fault, each observed until the next fault (the last until the end).
const order = [...faultAt.entries()].sort((a, b) => a[1] - b[1]);
const qualities = new Map<string, FaultQuality>();
order.forEach(([name, at], i) => qualities.set(name, faultQuality(routed, at, order[i + 1]?.[1] ?? endedAt)));
const pct = (x: number | null) => (x === null ? '  -' : `${Math.round(x * 100)}%`.padStart(4));
console.log('');
console.log('fault          failed/sent  sticky before/worst  proactive before/worst  quality back after');
for (const [name, q] of qualities) {
  const back = q.recoveredAfterS === null ? 'not back' : `${q.recoveredAfterS} s`;
  console.log(
    `${name.padEnd(14)} ${`${failed.get(name) ?? 0}/${sent.get(name) ?? 0}`.padStart(11)}  ` +
      `${pct(q.baseline.sticky)} / ${pct(q.worst.sticky)}`.padEnd(21) +
      `${pct(q.baseline.annotated)} / ${pct(q.worst.annotated)}`.padEnd(24) +
      back,
  );
}
for (const [name, q] of qualities)
  console.log(
    `  ${name} per 1 s (sticky/proactive %):`,
    q.windows.map((w) => `${pct(w.sticky).trim()}/${pct(w.annotated).trim()}`).join(' '),
  );
console.log('');
console.log(`fault suite ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);

client.close();
await recorder.stop();
await Promise.all(children.map((c) => c.kill()));
await nats.stop();

for (const p of ['nats', 'profiler', 'autoscaler', 'ext-proc'])
  assert.equal(failed.get(p) ?? 0, 0, `client requests failed during the ${p} kill`);
// A model server's kill fails only the requests on it: those in flight, and those sent to it
// before ext-proc took it out (the gateway, like Envoy without a retry policy, does not retry).
const outAt = (figures['model_server_killed_at'] as number) + (figures['endpoint_out_s'] as number) * 1000;
const lateFailures = modelServerFailureTimes.filter((t) => t > outAt + 1000).length;
console.log(
  `model server kill: ${modelServerFailureTimes.length} failed, ${lateFailures} after it was taken out`,
);
assert.equal(lateFailures, 0, 'model server kill: failures after the endpoint was taken out');
assert.equal(recorder.missed, 0, 'summaries discarded by retention before the recorder read them');
assert.equal(t.lost, 0, 'sessions lost');
assert.equal(t.storedTwice + tx.storedTwice, 0, 'sessions stored twice');
assert.equal(t.tracesLost, 0, 'traces lost');
assert.ok((figures['profiler_takeover_s'] as number) < 10);
assert.ok((figures['autoscaler_takeover_s'] as number) < 10);
// Routing quality: measurable (proactive and sticky before each fault, well above the 50% two
// endpoints give by chance), back within 5 s of the profiler's and the autoscaler's leader
// kills and of an ext-proc replica's kill (measured from the kill).
for (const name of ['profiler', 'autoscaler', 'ext-proc']) {
  const q = qualities.get(name) as FaultQuality;
  assert.ok(
    (q.baseline.annotated ?? 0) >= 0.9,
    `${name}: proactive before the fault ${q.baseline.annotated}`,
  );
  assert.ok((q.baseline.sticky ?? 0) >= 0.75, `${name}: sticky before the fault ${q.baseline.sticky}`);
}
for (const name of ['profiler', 'autoscaler', 'ext-proc']) {
  const back = qualities.get(name)?.recoveredAfterS ?? null;
  assert.ok(back !== null && back <= 5, `${name} kill: routing quality back after ${back} s`);
}
// The restarted replica decides as the live one does: it took some of the streams, and for
// neither share does a one-sided two-proportion z-test say it misses more often than the live
// replica over the same 3 s (misses: requests that left their session's endpoint, requests
// without a proactive prediction), at significance 0.001 (z above 3.09). Both replicas' misses
// are samples: the live share is not exact, and comparing against it alone (the former check:
// the live share less two of its standard errors, 1.4 standard errors of the difference)
// failed a sound replica in 12-16% of runs (simulated: both missing 3-5% of 100-260 requests).
// Between two warm replicas, 3 s windows of this suite gave z with variance 0.94 (24 windows,
// 5 runs): their misses behave as independent draws, so 0.001 is the false-alarm rate
// (simulated: at most 0.0004). A replica really worse fails it: one that lost its sessions
// (each request to either of 2 endpoints: half missed) in 99% of runs at 40 requests against
// a live replica missing 3%; one missing 13% instead of 3% in 91% at 260 requests (CI's size).
// Its sessions there began after it followed the live events (they last well under a second):
// what it caught up is checked by the events it replayed, and by tests/integration.
assert.ok((figures['ext_proc_replayed_events'] as number) > 0, 'the restarted replica replayed nothing');
assert.ok(
  restartedQ.withPrevious >= 10,
  `restarted replica decided ${restartedQ.withPrevious} later requests`,
);
for (const key of ['sticky', 'annotated'] as const) {
  const z = excessMissZ(missesOf(restartedQ, key), missesOf(liveQ, key));
  assert.ok(
    z <= RESTARTED_Z_MAX,
    `restarted replica ${key} ${restartedQ[key]} against the live one's ${liveQ[key]}: z ${z.toFixed(2)}`,
  );
}
console.log('fault suite passed');
