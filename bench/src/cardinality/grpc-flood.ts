// Distinct sessions (no end marker) through the real gRPC ext_proc service in a child
// process, each one whole exchange as Envoy runs it (request headers and body, response
// headers and body, close), many streams at once over several connections.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EnvoyExtProcClient, TEST_FILTER } from '../../../test-support/src/envoy-ext-proc-client.js';
import type { HeaderList } from '../../../test-support/src/header-mutation.js';
import { announcedPort } from '../../../test-support/src/announced-port.js';
import type { FloodSize } from './cores.js';
import { formatRow, identityOf, type MemoryFigures, type Sample, systemPrompt } from './memory.js';

interface ServerMemory extends MemoryFigures {
  readonly tracked: number;
  readonly trackedBytes: number;
}

async function startServer(bounds: number | null): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
  const extra = bounds === null ? [] : [String(bounds)];
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...extra], {
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

export async function floodGrpc(
  size: FloodSize,
  concurrency: number,
  connections: number,
  bounds: number | null,
  maxSeconds: number,
  print: (line: string) => void,
): Promise<GrpcFloodResult> {
  const server = await startServer(bounds);
  const target = `127.0.0.1:${server.port}`;
  let clients = Array.from({ length: connections }, () => new EnvoyExtProcClient(target, TEST_FILTER));
  await Promise.all(clients.map((c) => c.waitForReady()));
  const before = await serverMemory(server.child);
  print(formatRow('ext-proc', 0, before, `tracked ${before.tracked}`));
  const samples: Sample[] = [{ done: 0, rssMiB: before.rssMiB, heapMiB: before.heapMiB }];
  let next = 0;
  let done = 0;
  let failed = 0;
  let reporting: Promise<void> = Promise.resolve();
  const started = performance.now();
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if ((performance.now() - started) / 1000 >= maxSeconds) return;
      const i = next++;
      if (i >= size.sessions) return;
      const { headers, body } = request(i, size);
      const client = clients[w % clients.length] as EnvoyExtProcClient;
      try {
        const out = await client.roundTrip(headers, [body], UPSTREAM);
        if (out.request.kind !== 'continue' || out.request.failedOpen !== null) failed++;
      } catch {
        failed++;
      }
      done++;
      if (done % size.every === 0) {
        const at = done;
        const rate = at / ((performance.now() - started) / 1000);
        reporting = reporting.then(async () => {
          const m = await serverMemory(server.child);
          samples.push({ done: at, rssMiB: m.rssMiB, heapMiB: m.heapMiB });
          print(
            formatRow(
              'ext-proc',
              at,
              m,
              `tracked ${m.tracked} (${(m.trackedBytes / 2 ** 20).toFixed(1)} MiB est.)  failed ${failed}  ${rate.toFixed(0)}/s`,
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
  for (const c of clients) c.close();
  clients = [];
  server.child.kill('SIGTERM');
  return { failed, done, seconds, samples };
}
