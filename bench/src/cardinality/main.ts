// npm run bench:cardinality: memory under a flood of distinct identifiers. Drives distinct
// sessions (no end marker) with cycling agent and workflow names through the real gRPC
// ext_proc service (a child process), through ext-proc's message handling in process (the
// gateway part: the same code without transport, every table's figures), then through the
// profiler and autoscaler cores (a child process each), printing RSS and heap (after a full
// GC) at each step, then a table per part and its verdict: flat once the bounds filled, by
// the criterion of memory.ts (judgeFlat). Exits non-zero when a part grows (or ran too
// short after its bounds filled to tell).
//
// The default run takes minutes: 1M sessions, 100k agent names, 10k workflow names through
// the in-process parts with the default bounds (figures every 100k); 30k sessions through
// gRPC with its tables shrunk to fill (`--grpc-bounds 2000`). `--full` is the issue's run:
// 10M sessions, 1M agent names and 100k workflow names everywhere with the default bounds,
// figures every 1M (gRPC: every 100k), which through gRPC takes hours on a small machine;
// `--grpc-max-seconds N` stops the gRPC flood after N seconds, `--max-seconds N` each
// in-process part (the table says how far each got).
// Sizes: `--sessions --agents --workflows --every --grpc-sessions --grpc-every --grpc-bounds
// N|default --gateway-bounds N --concurrency N --connections N`; `--driver h2|grpc-js` the gRPC
// part's client (h2: lean HTTP/2 frames, the default; grpc-js: the Envoy-faithful test client,
// costlier than the service it drives); `--only grpc|gateway|profiler|autoscaler` runs one part; `--measure` prints
// the per-entry costs behind the byte bounds' constants instead.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { floodAutoscaler, type FloodResult, floodProfiler, type FloodSize } from './cores.js';
import { extProcFillAt, floodConfig } from './flood-config.js';
import { floodGateway } from './gateway-flood.js';
import { type FloodDriver, floodGrpc } from './grpc-flood.js';
import { measureEntryCosts } from './entry-cost.js';
import { type Judgement, printTable } from './memory.js';

interface Args extends FloodSize {
  only: string | null;
  driver: FloodDriver;
  concurrency: number;
  connections: number;
  measure: boolean;
  grpcSessions: number;
  grpcEvery: number;
  /** Entry bounds of the gRPC service's tables (floodConfig); null: the configuration's defaults. */
  grpcBounds: number | null;
  grpcMaxSeconds: number;
  /** The same for the in-process gateway (default: the configuration's bounds). */
  gatewayBounds: number | null;
}

const DEFAULT: Args = {
  sessions: 1_000_000,
  agents: 100_000,
  workflows: 10_000,
  every: 100_000,
  only: null,
  driver: 'h2',
  concurrency: 256,
  connections: 8,
  measure: false,
  grpcSessions: 30_000,
  grpcEvery: 3_000,
  grpcBounds: 2_000,
  grpcMaxSeconds: Number.POSITIVE_INFINITY,
  gatewayBounds: null,
  maxSeconds: Number.POSITIVE_INFINITY,
};

const FULL: Partial<Args> = {
  sessions: 10_000_000,
  agents: 1_000_000,
  workflows: 100_000,
  every: 1_000_000,
  grpcSessions: 10_000_000,
  grpcEvery: 100_000,
  grpcBounds: null,
};

function parseArgs(argv: string[]): Args {
  const args: Args = { ...DEFAULT, ...(argv.includes('--full') ? FULL : {}) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!(v > 0)) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--full') continue;
    else if (a === '--sessions') args.sessions = value();
    else if (a === '--agents') args.agents = value();
    else if (a === '--workflows') args.workflows = value();
    else if (a === '--every') args.every = value();
    else if (a === '--grpc-sessions') args.grpcSessions = value();
    else if (a === '--grpc-every') args.grpcEvery = value();
    else if (a === '--grpc-bounds') args.grpcBounds = argv[i + 1] === 'default' ? (i++, null) : value();
    else if (a === '--max-seconds') args.maxSeconds = value();
    else if (a === '--gateway-bounds') args.gatewayBounds = value();
    else if (a === '--grpc-max-seconds') args.grpcMaxSeconds = value();
    else if (a === '--concurrency') args.concurrency = value();
    else if (a === '--connections') args.connections = value();
    else if (a === '--only') args.only = argv[++i] ?? null;
    else if (a === '--driver') {
      const d = argv[++i];
      if (d !== 'h2' && d !== 'grpc-js') throw new Error('--driver is h2 or grpc-js');
      args.driver = d;
    } else if (a === '--measure') args.measure = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const print = (line: string) => console.log(line);
/** Exit codes of a part: flat, growing, too short to judge. */
const EXIT: Record<Judgement['verdict'], number> = { flat: 0, growing: 1, 'too short': 3 };

/** Runs one in-process part in a fresh process so its figures are its own; its verdict. */
function inChild(part: string): Promise<Judgement['verdict']> {
  const script = fileURLToPath(import.meta.url);
  const rest = process.argv.slice(2).filter((_, i, all) => all[i] !== '--only' && all[i - 1] !== '--only');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...rest, '--only', part], {
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const verdict = (Object.keys(EXIT) as Judgement['verdict'][]).find((v) => EXIT[v] === code);
      if (verdict) resolve(verdict);
      else reject(new Error(`${part} exited with ${code}`));
    }),
  );
}

function judgeLocal(label: string, run: () => FloodResult): number {
  const { samples, fillAt } = run();
  return EXIT[printTable(label, samples, fillAt, print).verdict];
}

if (args.measure) measureEntryCosts(print);
else if (args.only === 'profiler')
  process.exitCode = judgeLocal('profiler core', () => floodProfiler(args, print));
else if (args.only === 'autoscaler')
  process.exitCode = judgeLocal('autoscaler core', () => floodAutoscaler(args, print));
else if (args.only === 'gateway')
  process.exitCode = judgeLocal('ext-proc in process', () => floodGateway(args, args.gatewayBounds, print));
else {
  const verdicts: [string, string][] = [];
  print(
    `in process: ${args.sessions} distinct sessions, ${args.agents} agent names, ${args.workflows} workflow names; figures every ${args.every}`,
  );
  if (args.only === null || args.only === 'grpc') {
    const sessions = args.grpcSessions;
    const every = Math.min(args.grpcEvery, sessions);
    print(
      `gRPC (${args.driver} driver, ${args.connections} connections, ${args.concurrency} streams in flight): ${sessions} sessions, figures every ${every}, tables ${args.grpcBounds === null ? 'at the default bounds' : `bounded to ${args.grpcBounds} sessions`}${Number.isFinite(args.grpcMaxSeconds) ? `, at most ${args.grpcMaxSeconds} s` : ''}`,
    );
    const r = await floodGrpc(
      { ...args, sessions, every },
      args.concurrency,
      args.connections,
      args.grpcBounds,
      args.grpcMaxSeconds,
      print,
      args.driver,
    );
    print(
      `ext-proc: ${r.done} of ${sessions} sessions in ${r.seconds.toFixed(0)} s (${(r.done / r.seconds).toFixed(0)}/s), ${r.failed} exchanges failed`,
    );
    const j = printTable('ext-proc over gRPC', r.samples, extProcFillAt(floodConfig(args.grpcBounds)), print);
    verdicts.push(['ext-proc over gRPC', r.failed > 0 ? `${j.verdict}, ${r.failed} failed` : j.verdict]);
  }
  if (args.only === null) {
    for (const part of ['gateway', 'profiler', 'autoscaler']) verdicts.push([part, await inChild(part)]);
  }
  print('');
  for (const [part, verdict] of verdicts) print(`${part.padEnd(20)} ${verdict}`);
  process.exitCode = verdicts.every(([, v]) => v === 'flat') ? 0 : 1;
}
