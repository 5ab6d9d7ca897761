// Memory figures of the current process, after a full collection when --expose-gc is on.
export interface MemoryFigures {
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** V8's heap as reserved, and memory outside it (buffers). */
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
}

/** Heap used and memory outside the heap after two full collections (needs --expose-gc). */
export function memoryAfterGc(): { heap: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

export function memoryNow(): MemoryFigures {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = process.memoryUsage();
  return {
    rssMiB: m.rss / 2 ** 20,
    heapMiB: m.heapUsed / 2 ** 20,
    heapTotalMiB: m.heapTotal / 2 ** 20,
    externalMiB: m.external / 2 ** 20,
  };
}

export function formatRow(label: string, done: number, m: MemoryFigures, extra = ''): string {
  return `${label.padEnd(11)} ${String(done).padStart(10)}  rss ${m.rssMiB.toFixed(0).padStart(5)} MiB  heap ${m.heapMiB.toFixed(0).padStart(5)} MiB (of ${m.heapTotalMiB.toFixed(0)}, external ${m.externalMiB.toFixed(0)})${extra ? `  ${extra}` : ''}`;
}

/** Identity of the i-th simulated request: every session distinct, names cycling. */
export function identityOf(
  i: number,
  agents: number,
  workflows: number,
): { workflow: string; session: string; agent: string } {
  return { workflow: `wf-${i % workflows}`, session: `session-${i}`, agent: `agent-${i % agents}` };
}

/** An agent's system prompt: over one prefix block (1 KiB), so each agent's first block is its own. */
export function systemPrompt(agent: string): string {
  return `You are ${agent}. ${'Follow the repository conventions and keep changes small. '.repeat(20)}`;
}

/** One figure of a flood: after `done` sessions. */
export interface Sample {
  readonly done: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  /**
   * Taken when a time limit stopped the part, between two regular samples: shown, not judged
   * (the tables then sit at another point of their generations' turnover than at the others).
   */
  readonly offGrid?: boolean;
  /** Why it is off the grid, as the table shows it (default: a time limit stopped the part). */
  readonly offGridNote?: string;
}

export type Verdict = 'flat' | 'growing' | 'too short';

/** RSS and heap may rise this much (relative) from the earlier to the later half after the fill... */
export const FLAT_RELATIVE = 0.1;
/** ...plus this much (allocator and collector noise, a generation turning over). */
export const FLAT_SLACK_RSS_MIB = 48;
export const FLAT_SLACK_HEAP_MIB = 24;
/** Samples needed after the bounds filled to judge. */
export const FLAT_MIN_SAMPLES = 4;

export interface Judgement {
  readonly verdict: Verdict;
  readonly detail: string;
}

/**
 * The flatness criterion: the samples taken once `fillAt` sessions went through (every
 * bound of the part is full by then) are split into an earlier and a later half; the
 * later half's highest RSS may exceed the earlier half's highest by at most 10% + 48 MiB,
 * and the same for heap used (10% + 24 MiB). Comparing maxima, not single points, keeps a
 * two-generation table's sawtooth (half full, full, half full) from reading as growth, while
 * steady growth of any size over the run fails. Fewer than 4 samples after the fill: too short
 * to judge. A sample off the regular grid (a time limit's) is not judged.
 */
export function judgeFlat(samples: readonly Sample[], fillAt: number): Judgement {
  const after = samples.filter((s) => s.done >= fillAt && s.offGrid !== true);
  if (after.length < FLAT_MIN_SAMPLES)
    return {
      verdict: 'too short',
      detail: `${after.length} samples after the bounds filled (at ${fillAt}); ${FLAT_MIN_SAMPLES} needed`,
    };
  const half = Math.floor(after.length / 2);
  const early = after.slice(0, half);
  const late = after.slice(half);
  const max = (xs: readonly Sample[], f: (s: Sample) => number) => Math.max(...xs.map(f));
  const rss = [max(early, (s) => s.rssMiB), max(late, (s) => s.rssMiB)] as const;
  const heap = [max(early, (s) => s.heapMiB), max(late, (s) => s.heapMiB)] as const;
  const rssOk = rss[1] <= rss[0] * (1 + FLAT_RELATIVE) + FLAT_SLACK_RSS_MIB;
  const heapOk = heap[1] <= heap[0] * (1 + FLAT_RELATIVE) + FLAT_SLACK_HEAP_MIB;
  const detail = `after ${fillAt}: max RSS ${rss[0].toFixed(0)} -> ${rss[1].toFixed(0)} MiB, max heap ${heap[0].toFixed(0)} -> ${heap[1].toFixed(0)} MiB (earlier -> later half of ${after.length} samples)`;
  return { verdict: rssOk && heapOk ? 'flat' : 'growing', detail };
}

/** The part's figures as a table (markdown), and its verdict. */
export function printTable(
  label: string,
  samples: readonly Sample[],
  fillAt: number,
  print: (line: string) => void,
): Judgement {
  const j = judgeFlat(samples, fillAt);
  print('');
  print(`${label}: bounds full at ${fillAt} sessions`);
  print('| sessions | RSS MiB | heap MiB |');
  print('|---:|---:|---:|');
  for (const s of samples)
    print(
      `| ${s.done.toLocaleString('en-US')}${s.offGrid ? ` (${s.offGridNote ?? 'stopped'}, not judged)` : ''} | ${s.rssMiB.toFixed(0)} | ${s.heapMiB.toFixed(0)} |`,
    );
  print(`${label}: ${j.verdict.toUpperCase()} (${j.detail})`);
  return j;
}
