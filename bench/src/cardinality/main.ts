// npm run bench:cardinality: memory under a flood of distinct identifiers. Drives
// `--sessions` distinct sessions (no end marker) with `--agents` agent names and
// `--workflows` workflow names through the real gRPC ext_proc service (a child process;
// `--grpc-sessions` of them, default all), through ext-proc's message handling in process
// (the gateway part: the same code without transport, every table's figures), then through
// the profiler and autoscaler cores (a child process each), printing RSS and heap (after a
// full GC) every `--every` sessions. `--grpc-tracked N` bounds the service's per-session
// tables (ext_proc.max_tracked_sessions) so that a smaller gRPC flood fills them. Flat once the bounds fill is the pass.
// `--only grpc|gateway|profiler|autoscaler` runs one part; `--measure` prints the per-entry
// costs behind the byte bounds' constants instead.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { floodAutoscaler, floodProfiler, type FloodSize } from './cores.js';
import { floodGateway } from './gateway-flood.js';
import { floodGrpc } from './grpc-flood.js';
import { measureEntryCosts } from './entry-cost.js';

interface Args extends FloodSize {
  only: string | null;
  concurrency: number;
  connections: number;
  measure: boolean;
  grpcSessions: number | null;
  /** ext_proc.max_tracked_sessions of the gRPC service (default: the configuration's). */
  grpcTracked: number | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    sessions: 10_000_000,
    agents: 1_000_000,
    workflows: 100_000,
    every: 1_000_000,
    only: null,
    concurrency: 256,
    connections: 8,
    measure: false,
    grpcSessions: null,
    grpcTracked: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => Number(argv[++i]);
    if (a === '--sessions') args.sessions = value();
    else if (a === '--agents') args.agents = value();
    else if (a === '--workflows') args.workflows = value();
    else if (a === '--every') args.every = value();
    else if (a === '--grpc-sessions') args.grpcSessions = value();
    else if (a === '--grpc-tracked') args.grpcTracked = value();
    else if (a === '--concurrency') args.concurrency = value();
    else if (a === '--connections') args.connections = value();
    else if (a === '--only') args.only = argv[++i] ?? null;
    else if (a === '--measure') args.measure = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const print = (line: string) => console.log(line);

/** Runs one core part in a fresh process so its figures are its own. */
function inChild(part: string): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const rest = process.argv.slice(2).filter((_, i, all) => all[i] !== '--only' && all[i - 1] !== '--only');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...rest, '--only', part], {
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${part} exited with ${code}`)))),
  );
}

if (args.measure) measureEntryCosts(print);
else if (args.only === 'profiler') floodProfiler(args, print);
else if (args.only === 'gateway') floodGateway(args, print);
else if (args.only === 'autoscaler') floodAutoscaler(args, print);
else {
  print(
    `${args.sessions} distinct sessions, ${args.agents} agent names, ${args.workflows} workflow names; figures every ${args.every}`,
  );
  if (args.only === null || args.only === 'grpc') {
    const sessions = args.grpcSessions ?? args.sessions;
    const every = Math.min(args.every, Math.max(1, Math.floor(sessions / 10)));
    const { failed } = await floodGrpc(
      { ...args, sessions, every },
      args.concurrency,
      args.connections,
      args.grpcTracked,
      print,
    );
    print(`ext-proc: ${failed} of ${sessions} exchanges failed`);
  }
  if (args.only === null) {
    await inChild('gateway');
    await inChild('profiler');
    await inChild('autoscaler');
  }
}
