// Distinct sessions (no end marker) through the real gRPC ext_proc service in a child
// process, each one whole exchange as Envoy runs it (request headers and body, response
// headers and body, close), many streams at once over several connections. The driver is
// the lean HTTP/2 one (h2-driver.ts) unless `driver` is 'grpc-js' (the Envoy-faithful test
// client, which costs more CPU than the service and so was the limit on a small machine).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EnvoyExtProcClient, TEST_FILTER } from '../../../test-support/src/envoy-ext-proc-client.js';
import type { HeaderList } from '../../../test-support/src/header-mutation.js';
import { announcedPort } from '../../../test-support/src/announced-port.js';
import type { FloodSize } from './cores.js';
import { exchangeFrames, H2ExtProcConnection, responseFrames } from './h2-driver.js';
import { formatRow, identityOf, type MemoryFigures, type Sample, systemPrompt } from './memory.js';

interface ServerMemory extends MemoryFigures {
  readonly tracked: number;
  readonly trackedBytes: number;
  /** The service's CPU time so far (user + system). */
  readonly cpuMs: number;
}

async function startServer(bounds: number | null): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
  const extra = bounds === null ? [] : [String(bounds)];
  // CARDINALITY_SERVER_NODE_ARGS: extra node flags for the service (e.g. --cpu-prof to profile it).
  const nodeArgs = (process.env['CARDINALITY_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, '--expose-gc', '--import', 'tsx', script, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await announcedPort(child, 'ext-proc');
  return { child, port };
}

function serverMemory(child: ChildProcess): Promise<ServerMemory> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as ServerMemory));
    child.send('mem');
  });
}

const OUTPUT = 'Plan: read the failing test, then fix the parser.';
const UPSTREAM = {
  status: 200,
  headers: [['content-type', 'application/json']] as HeaderList,
  chunks: [
    Buffer.from(
      JSON.stringify({
        choices: [{ index: 0, message: { role: 'assistant', content: OUTPUT }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 40, completion_tokens: 12 },
      }),
    ),
  ],
};

function request(i: number, size: FloodSize): { headers: HeaderList; body: Buffer } {
  const id = identityOf(i, size.agents, size.workflows);
  return {
    headers: [
      [':method', 'POST'],
      [':path', '/v1/chat/completions'],
      [':authority', 'gateway'],
      [':scheme', 'http'],
      ['content-type', 'application/json'],
      ['x-pythia-workflow', id.workflow],
      ['x-pythia-session', id.session],
      ['x-pythia-agent', id.agent],
    ],
    body: Buffer.from(
      JSON.stringify({
        model: 'bench-model',
        max_tokens: 64,
        messages: [
          { role: 'system', content: systemPrompt(id.agent) },
          { role: 'user', content: `Work on ${id.session}.` },
        ],
      }),
    ),
  };
}

export interface GrpcFloodResult {
  readonly failed: number;
  /** Exchanges completed (fewer than asked when the time limit stopped the flood). */
  readonly done: number;
  readonly seconds: number;
  readonly samples: readonly Sample[];
}

export type FloodDriver = 'h2' | 'grpc-js';

/** One exchange per call on connection `w % connections`: true when it went through unmodified-or-routed. */
type RunOne = (w: number, i: number) => Promise<boolean>;

async function grpcJsDriver(
  target: string,
  connections: number,
  size: FloodSize,
): Promise<{ run: RunOne; close: () => void }> {
  const clients = Array.from({ length: connections }, () => new EnvoyExtProcClient(target, TEST_FILTER));
  await Promise.all(clients.map((c) => c.waitForReady()));
  return {
    run: async (w, i) => {
      const { headers, body } = request(i, size);
      const client = clients[w % clients.length] as EnvoyExtProcClient;
      try {
        const out = await client.roundTrip(headers, [body], UPSTREAM);
        return out.request.kind === 'continue' && out.request.failedOpen === null;
      } catch {
        return false;
      }
    },
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

function h2Driver(target: string, connections: number, size: FloodSize): { run: RunOne; close: () => void } {
  const pool = Array.from({ length: connections }, () => new H2ExtProcConnection(target));
  const upstream = responseFrames(UPSTREAM.status, UPSTREAM.headers, UPSTREAM.chunks[0] as Buffer);
  let reported = 0;
  return {
    run: async (w, i) => {
      const { headers, body } = request(i, size);
      const why = await (pool[w % pool.length] as H2ExtProcConnection).run(
        exchangeFrames(headers, body, upstream),
      );
      // The first few failures are shown: a driver bug must not pass as the service's.
      if (why !== null && reported++ < 5) console.error(`exchange ${i} failed: ${why}`);
      return why === null;
    },
    close: () => {
      for (const c of pool) c.close();
    },
  };
}

export async function floodGrpc(
  size: FloodSize,
  concurrency: number,
  connections: number,
  bounds: number | null,
  maxSeconds: number,
  print: (line: string) => void,
  driver: FloodDriver = 'h2',
): Promise<GrpcFloodResult> {
  const server = await startServer(bounds);
  const target = `127.0.0.1:${server.port}`;
  const client =
    driver === 'h2' ? h2Driver(target, connections, size) : await grpcJsDriver(target, connections, size);
  const before = await serverMemory(server.child);
  print(formatRow('ext-proc', 0, before, `tracked ${before.tracked}`));
  const samples: Sample[] = [{ done: 0, rssMiB: before.rssMiB, heapMiB: before.heapMiB }];
  let next = 0;
  let done = 0;
  let failed = 0;
  let reporting: Promise<void> = Promise.resolve();
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const serverCpuStart = before.cpuMs;
  let lap = { at: 0, ms: started };
  /** CPU per exchange of the driver (this process) and of the service: which one is the limit. */
  const cpuPerExchange = (at: number, serverCpuMs: number): string => {
    const mine = process.cpuUsage(cpuStart);
    const driverMs = (mine.user + mine.system) / 1000 / at;
    return `cpu/exchange: driver ${driverMs.toFixed(2)} ms, service ${((serverCpuMs - serverCpuStart) / at).toFixed(2)} ms`;
  };
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if ((performance.now() - started) / 1000 >= maxSeconds) return;
      const i = next++;
      if (i >= size.sessions) return;
      if (!(await client.run(w, i))) failed++;
      done++;
      if (done % size.every === 0) {
        const at = done;
        const now = performance.now();
        const rate = (at - lap.at) / ((now - lap.ms) / 1000);
        lap = { at, ms: now };
        reporting = reporting.then(async () => {
          const m = await serverMemory(server.child);
          // The flood's last sample finds nothing in flight, so every two-generation table sits
          // at its fullest; the samples within it are taken while the requests already started
          // have turned the generations over (3 December 2026: session histories and affinity
          // at 50k there, 100k at the end). Shown, not judged against them.
          const end = at === size.sessions;
          samples.push({
            done: at,
            rssMiB: m.rssMiB,
            heapMiB: m.heapMiB,
            ...(end ? { offGrid: true, offGridNote: "the flood's end: tables at their fullest" } : {}),
          });
          print(
            formatRow(
              'ext-proc',
              at,
              m,
              `tracked ${m.tracked} (${(m.trackedBytes / 2 ** 20).toFixed(1)} MiB est.)  failed ${failed}  ${rate.toFixed(0)}/s  ${cpuPerExchange(at, m.cpuMs)}`,
            ),
          );
        });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  await reporting;
  const seconds = (performance.now() - started) / 1000;
  if (samples.at(-1)?.done !== done) {
    const m = await serverMemory(server.child);
    samples.push({ done, rssMiB: m.rssMiB, heapMiB: m.heapMiB, offGrid: true });
    print(formatRow('ext-proc', done, m, `tracked ${m.tracked}  failed ${failed}  (stopped)`));
  }
  if (done > 0) print(`ext-proc ${cpuPerExchange(done, (await serverMemory(server.child)).cpuMs)}`);
  client.close();
  server.child.kill('SIGTERM');
  return { failed, done, seconds, samples };
}
