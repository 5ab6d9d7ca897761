// Memory figures of the current process, after a full collection when --expose-gc is on.
export interface MemoryFigures {
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** V8's heap as reserved, and memory outside it (buffers). */
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
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
