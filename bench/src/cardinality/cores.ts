// The profiler and autoscaler cores under the cardinality flood, in this process.
import { parseConfig } from '../../../common/src/config/load.js';
import { AutoscalerLoop } from '../../../autoscaler/src/core/autoscaler-loop.js';
import { coreConfigFrom } from '../../../profiler/src/core/core-config.js';
import { ProfilerCore } from '../../../profiler/src/core/profiler-core.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import { formatRow, identityOf, memoryNow, type Sample } from './memory.js';

export interface FloodSize {
  sessions: number;
  agents: number;
  workflows: number;
  every: number;
  /** Wall-clock limit of an in-process part: it stops there, with a last sample. */
  maxSeconds: number;
}

/** A stopwatch against `maxSeconds`, checked every 10k sessions. */
export function deadline(maxSeconds: number): (i: number) => boolean {
  const started = performance.now();
  return (i) => i % 10_000 === 0 && (performance.now() - started) / 1000 >= maxSeconds;
}

const CONFIG = parseConfig({ pools: [{ name: 'pool-a', models: ['bench-model'] }] });
const T0 = 1_800_000_000_000;

/** A flood trace: one request a millisecond of simulated time from `start`. */
export function floodTrace(
  requestId: string,
  id: { workflow: string; session: string; agent: string },
  start: number,
): Trace {
  return {
    requestId,
    exchange: requestId,
    ...id,
    model: 'bench-model',
    pool: 'pool-a',
    endpoint: '127.0.0.1:8000',
    promptTokens: 1000,
    cachedTokens: null,
    outputTokens: 42,
    outputTokensReported: true,
    queueMs: 0,
    firstTokenMs: 10,
    totalMs: 100,
    startUnixMs: start,
    endUnixMs: start + 100,
    status: 'OK',
    httpStatus: 200,
    promptBytes: 4000,
    sessionEnd: false,
    predictedAgent: '',
    predictedOutputTokens: 0,
    mode: '',
  };
}

function trace(i: number, size: FloodSize): Trace {
  return floodTrace(`req-${i}`, identityOf(i, size.agents, size.workflows), T0 + i);
}

export interface FloodResult {
  readonly samples: Sample[];
  /** Sessions after which every entry bound of the part is full. */
  readonly fillAt: number;
}

function sample(samples: Sample[], done: number, offGrid = false): ReturnType<typeof memoryNow> {
  const m = memoryNow();
  samples.push({ done, rssMiB: m.rssMiB, heapMiB: m.heapMiB, ...(offGrid ? { offGrid } : {}) });
  return m;
}

/** Sessions after which every entry bound of the profiler core is full. */
export function profilerFillAt(): number {
  const l = CONFIG.profiler.limits;
  return Math.max(l.dedupe_capacity, l.max_open_sessions, l.max_workflows);
}

export function floodProfiler(size: FloodSize, print: (line: string) => void): FloodResult {
  const samples: Sample[] = [];
  const core = new ProfilerCore<number>(coreConfigFrom(CONFIG.profiler, CONFIG.identifiers.max_length));
  const over = deadline(size.maxSeconds);
  for (let i = 0; i < size.sessions; i++) {
    const t = trace(i, size);
    if (over(i)) {
      print(formatRow('profiler', i, sample(samples, i, true), `stopped after ${size.maxSeconds} s`));
      break;
    }
    core.ingest(t, i, t.endUnixMs);
    if ((i + 1) % 100_000 === 0) core.completeDue(t.endUnixMs);
    if ((i + 1) % size.every === 0) {
      core.rebuildDirty(t.endUnixMs);
      core.expireIdle(t.endUnixMs);
      core.takeForgotten();
      const tables = Object.entries(core.tables)
        .map(([name, x]) => `${name} ${x.entries}/${(x.bytes / 2 ** 20).toFixed(1)}`)
        .join(' ');
      print(formatRow('profiler', i + 1, sample(samples, i + 1), `${tables} (entries/MiB est.)`));
    }
  }
  return { samples, fillAt: profilerFillAt() };
}

export function floodAutoscaler(size: FloodSize, print: (line: string) => void): FloodResult {
  const samples: Sample[] = [];
  const loop = new AutoscalerLoop(CONFIG);
  const over = deadline(size.maxSeconds);
  for (let i = 0; i < size.sessions; i++) {
    const t = trace(i, size);
    if (over(i)) {
      print(formatRow('autoscaler', i, sample(samples, i, true), `stopped after ${size.maxSeconds} s`));
      break;
    }
    loop.started(
      {
        requestId: t.requestId,
        exchange: t.requestId,
        workflow: t.workflow,
        session: t.session,
        agent: t.agent,
        pool: t.pool,
        startUnixMs: t.startUnixMs,
      },
      t.startUnixMs,
    );
    loop.ingest(t, t.endUnixMs);
    if ((i + 1) % size.every === 0) {
      const tick = loop.tick(t.endUnixMs, [], new Map());
      print(formatRow('autoscaler', i + 1, sample(samples, i + 1), `active ${tick.activeSessions}`));
    }
  }
  return {
    samples,
    fillAt: Math.max(CONFIG.ext_proc.max_tracked_sessions, CONFIG.autoscaler.max_agent_pools),
  };
}
