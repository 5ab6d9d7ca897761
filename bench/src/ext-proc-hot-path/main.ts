// npm run bench:ext-proc: added latency and throughput of our ext_proc service over a raw
// grpc-js echo of the same messages, measured in the same run with the same
// Envoy-faithful client. Prints a table; `--json FILE` also writes the figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FILTER, EnvoyExtProcClient } from '../../../test-support/src/envoy-ext-proc-client.js';
import type { HeaderList } from '../../../test-support/src/header-mutation.js';
import { announcedPort } from '../../../test-support/src/announced-port.js';
import { measureApplyCost, measureCoreCost } from './core-cost.js';
import { quantileSorted } from '../../../core/src/stats/quantile.js';
import { connect } from 'nats';
import { TestNatsServer } from '../../../test-support/src/nats-server.js';
import { REPLICA_EVENTS } from '../../../core/src/wire/channels.js';
import { preciseWallNow } from '../../../ext-proc/src/adapters/replica-sync.js';
import { processCpuMs } from './process-cpu.js';

interface Args {
  seconds: number;
  endpoints: number;
  json: string | null;
  /** Run only the scenarios whose name contains this text. */
  only: string | null;
  /**
   * 0: ext-proc alone (no NATS). N >= 1: also one and N replicas on a nats-server sharing
   * live sessions, requests spread round-robin over them, compared in the same run.
   */
  replicas: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, endpoints: 64, json: null, only: null, replicas: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--replicas') args.replicas = Number(argv[++i]);
    else if (a === '--endpoints') args.endpoints = Number(argv[++i]);
    else if (a === '--json') args.json = argv[++i] ?? null;
    else if (a === '--only') args.only = argv[++i] ?? null;
  }
  return args;
}

async function startServer(
  kind: 'ours' | 'echo',
  endpoints: number,
  natsUrl?: string,
): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
  // A larger young generation keeps 200 KiB bodies from forcing a scavenge every few
  // requests; the same flag is recommended for production (docs/deployment.md) and used for both.
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_SERVER_FLAGS']?.split(' ').filter(Boolean) ?? []),
      '--max-semi-space-size=32',
      '--import',
      'tsx',
      script,
      kind,
      String(endpoints),
      ...(natsUrl ? [natsUrl] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await announcedPort(child, `${kind} server`);
  return { child, port };
}

function chatBody(bytes: number): Buffer {
  const base = {
    model: 'bench-model',
    messages: [
      { role: 'system', content: '' },
      { role: 'user', content: 'Summarise the repository.' },
    ],
  };
  const overhead = Buffer.byteLength(JSON.stringify(base));
  (base.messages[0] as { content: string }).content = 'a'.repeat(Math.max(0, bytes - overhead));
  return Buffer.from(JSON.stringify(base));
}

const HEADERS: HeaderList = [
  [':method', 'POST'],
  [':path', '/v1/chat/completions'],
  [':authority', 'gateway'],
  [':scheme', 'http'],
  ['content-type', 'application/json'],
  ['x-pythia-workflow', 'coding'],
  ['x-pythia-session', 'bench-session'],
  ['x-pythia-agent', 'planner'],
];

interface RunResult {
  p50: number;
  p99: number;
  achievedRps: number;
  errors: number;
  /** Exchanges run, answered or not: each cost the server its work. */
  exchanges: number;
}

const UPSTREAM = {
  status: 200,
  headers: [['content-type', 'text/event-stream']] as HeaderList,
  chunks: [
    Buffer.from(
      'data: {"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":42}}\n\ndata: [DONE]\n\n',
    ),
  ],
};

/**
 * One request as Envoy runs it (request side, response headers, final body chunk,
 * close). Resolves with the request-side latency: what the client waits for before the
 * request can go upstream.
 */
/** A server's clients: one per replica, each request to the next (Envoy's round robin). */
type Target = () => EnvoyExtProcClient;

function roundRobin(clients: readonly EnvoyExtProcClient[]): Target {
  let next = 0;
  return () => clients[next++ % clients.length] as EnvoyExtProcClient;
}

async function one(target: Target, body: Buffer): Promise<number | null> {
  const exchange = target().open();
  try {
    const t = performance.now();
    const out = await exchange.processRequest(HEADERS, [body]);
    const latency = performance.now() - t;
    if (out.kind !== 'continue' || out.failedOpen !== null) return null;
    await exchange.processResponseHeaders(UPSTREAM.status, UPSTREAM.headers, false);
    await exchange.processResponseBody(UPSTREAM.chunks[0] as Buffer, true);
    return latency;
  } finally {
    exchange.close();
  }
}

function summarise(latencies: number[], errors: number, start: number): RunResult {
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    p50: quantileSorted(latencies, 0.5),
    p99: quantileSorted(latencies, 0.99),
    achievedRps: latencies.length / elapsed,
    errors,
    exchanges: latencies.length + errors,
  };
}

/** Open loop: requests start on schedule whatever the latency; latency counts from the scheduled time. */
async function fixedRate(client: Target, body: Buffer, rate: number, seconds: number): Promise<RunResult> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  let issued = 0;
  while (issued < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
    for (; issued < due; issued++) {
      const scheduled = start + (issued / rate) * 1000;
      // Latency counts from the scheduled start, so a lagging driver cannot hide queueing.
      const lag = performance.now() - scheduled;
      pending.push(
        one(client, body).then((latency) => {
          if (latency === null) errors++;
          else latencies.push(lag + latency);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return summarise(latencies, errors, start);
}

/** Closed loop with fixed concurrency: the most requests per second the server sustains. */
async function maxThroughput(
  client: Target,
  body: Buffer,
  concurrency: number,
  seconds: number,
): Promise<RunResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const latency = await one(client, body);
        if (latency === null) errors++;
        else latencies.push(latency);
      }
    }),
  );
  return summarise(latencies, errors, start);
}

const args = parseArgs(process.argv.slice(2));
const nats = args.replicas > 0 ? await TestNatsServer.start() : null;
const children: ChildProcess[] = [];
async function serverSet(kind: 'ours' | 'echo', count: number, natsUrl?: string): Promise<Target> {
  const clients: EnvoyExtProcClient[] = [];
  const pids: Array<number | undefined> = [];
  for (let i = 0; i < count; i++) {
    const server = await startServer(kind, args.endpoints, natsUrl);
    children.push(server.child);
    pids.push(server.child.pid);
    const client = new EnvoyExtProcClient(`127.0.0.1:${server.port}`, DEFAULT_FILTER);
    await client.waitForReady();
    clients.push(client);
    opened.push(client);
  }
  const target = roundRobin(clients);
  serverPids.set(target, pids);
  return target;
}
/** The server processes behind each target, for their CPU time. */
const serverPids = new Map<Target, Array<number | undefined>>();

/** CPU the target's servers used, in ms; null where it cannot be read. */
function serversCpuMs(target: Target): number | null {
  let total = 0;
  for (const pid of serverPids.get(target) ?? []) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

/** A scenario's run with the servers' CPU per exchange (ms; null where unreadable). */
async function runMeasured(
  scenario: { run: (c: Target) => Promise<RunResult> },
  target: Target,
): Promise<RunResult & { cpuMsPerExchange: number | null }> {
  const before = serversCpuMs(target);
  const result = await scenario.run(target);
  const after = serversCpuMs(target);
  const cpuMsPerExchange =
    before === null || after === null ? null : (after - before) / Math.max(1, result.exchanges);
  return { ...result, cpuMsPerExchange };
}
const opened: EnvoyExtProcClient[] = [];
const oursTarget = await serverSet('ours', 1);
const echoTarget = await serverSet('echo', 1);
const clients: Record<string, Target> = { ours: oursTarget, echo: echoTarget };
if (nats) {
  clients['ours_nats_1'] = await serverSet('ours', 1, nats.url);
  if (args.replicas > 1)
    clients[`ours_nats_${args.replicas}`] = await serverSet('ours', args.replicas, nats.url);
}
/** What the replicas send each other, seen by a third subscriber: messages, bytes, staleness. */
const wire = { messages: 0, bytes: 0, staleness: [] as number[] };
const watcher = nats ? await connect({ servers: nats.url }) : null;
watcher?.subscribe(REPLICA_EVENTS.subject, {
  callback: (_err, msg) => {
    wire.messages++;
    wire.bytes += msg.data.length;
    const event = REPLICA_EVENTS.decode(msg.data);
    if (event.body.kind !== 'heartbeat') wire.staleness.push(preciseWallNow() - event.unixMs);
  },
});

const small = chatBody(4 * 1024);
const large = chatBody(200 * 1024);
type Scenario = { name: string; run: (c: Target) => Promise<RunResult> };
const scenarios: Scenario[] = [
  { name: '4 KiB @ 1000 req/s', run: (c) => fixedRate(c, small, 1000, args.seconds) },
  { name: '200 KiB @ 500 req/s', run: (c) => fixedRate(c, large, 500, args.seconds) },
  { name: '4 KiB max, concurrency 64', run: (c) => maxThroughput(c, small, 64, args.seconds) },
  { name: '200 KiB max, concurrency 16', run: (c) => maxThroughput(c, large, 16, args.seconds) },
];

// Warm every server (JIT, connections) before measuring.
for (const c of Object.values(clients)) await fixedRate(c, small, 500, 1);

const rows: Array<Record<string, string | number>> = [];
const replicaRows: Array<Record<string, string | number>> = [];
for (const [i, scenario] of scenarios.filter((s) => !args.only || s.name.includes(args.only)).entries()) {
  // Alternate which server goes first so drift in machine load affects both alike.
  let echo: Awaited<ReturnType<typeof runMeasured>>;
  let ours: Awaited<ReturnType<typeof runMeasured>>;
  if (i % 2 === 0) {
    echo = await runMeasured(scenario, echoTarget);
    ours = await runMeasured(scenario, oursTarget);
  } else {
    ours = await runMeasured(scenario, oursTarget);
    echo = await runMeasured(scenario, echoTarget);
  }
  rows.push({
    scenario: scenario.name,
    ours_p50_ms: +ours.p50.toFixed(3),
    ours_p99_ms: +ours.p99.toFixed(3),
    echo_p50_ms: +echo.p50.toFixed(3),
    echo_p99_ms: +echo.p99.toFixed(3),
    added_p50_ms: +(ours.p50 - echo.p50).toFixed(3),
    added_p99_ms: +(ours.p99 - echo.p99).toFixed(3),
    ours_rps: Math.round(ours.achievedRps),
    echo_rps: Math.round(echo.achievedRps),
    echo_over_ours: +(echo.achievedRps / ours.achievedRps).toFixed(2),
    // Server CPU per exchange: what one core's throughput follows once the server is the limit.
    ours_cpu_ms: ours.cpuMsPerExchange === null ? 'n/a' : +ours.cpuMsPerExchange.toFixed(3),
    echo_cpu_ms: echo.cpuMsPerExchange === null ? 'n/a' : +echo.cpuMsPerExchange.toFixed(3),
    errors: ours.errors + echo.errors,
  });
  // The same scenario on ext-proc with NATS: one replica, then N sharing live sessions.
  for (const [name, target] of Object.entries(clients).filter(([n]) => n.startsWith('ours_nats_'))) {
    const before = { ...wire, staleness: wire.staleness.length };
    const r = await scenario.run(target);
    const requests = Math.max(1, r.achievedRps * args.seconds);
    const fresh = wire.staleness.slice(before.staleness).sort((x, y) => x - y);
    replicaRows.push({
      scenario: scenario.name,
      replicas: Number(name.slice('ours_nats_'.length)),
      p50_ms: +r.p50.toFixed(3),
      p99_ms: +r.p99.toFixed(3),
      rps: Math.round(r.achievedRps),
      nats_msgs_per_request: +((wire.messages - before.messages) / requests).toFixed(2),
      nats_bytes_per_request: Math.round((wire.bytes - before.bytes) / requests),
      staleness_p50_ms: fresh.length > 0 ? +quantileSorted(fresh, 0.5).toFixed(3) : 0,
      staleness_p99_ms: fresh.length > 0 ? +quantileSorted(fresh, 0.99).toFixed(3) : 0,
      errors: r.errors,
    });
  }
}
console.log(
  "Over gRPC, Envoy-faithful client, ours vs a raw grpc-js echo of the same messages (request-side latency; *_cpu_ms: the server process's CPU per exchange):",
);
console.table(rows);
const core = measureCoreCost([small, large], args.endpoints, 3000);
console.log(
  'In-process cost per request of the StreamProcessor (parse, route, annotate, count usage), alone and with the replica events encoded:',
);
console.table(
  core.map((c) => ({
    body_bytes: c.bodyBytes,
    p50_ms: +c.p50Ms.toFixed(4),
    p99_ms: +c.p99Ms.toFixed(4),
    replicas_p50_ms: +c.replicasP50Ms.toFixed(4),
    replicas_p99_ms: +c.replicasP99Ms.toFixed(4),
  })),
);
measureApplyCost(args.endpoints, 20_000);
console.log(
  `Folding another replica's request (decode and apply its start and end events): ${measureApplyCost(args.endpoints, 100_000).toFixed(2)} us per request`,
);
console.log(`endpoints=${args.endpoints} seconds=${args.seconds} node=${process.version}`);
console.log(
  'targets: added p50 <= 0.3 ms and p99 <= 1.5 ms at 1000 req/s (4 KiB); >= 500 req/s at 200 KiB; echo/ours throughput <= 1.5',
);
if (replicaRows.length > 0) {
  console.log(
    `ext-proc with NATS: one replica, then ${args.replicas} sharing live sessions (requests round-robin); ` +
      'NATS messages and bytes per request and event staleness as a third subscriber sees them:',
  );
  console.table(replicaRows);
}
if (args.json) writeFileSync(args.json, `${JSON.stringify({ args, rows, replicaRows, core }, null, 2)}\n`);
for (const c of opened) c.close();
for (const child of children) child.kill();
await watcher?.close();
await nats?.stop();
