// A session to replay: the JSONL trace format of the bench (one session per line).
// Steps with the same `stage` run in parallel; stage k+1 starts when every step of stage k
// has finished plus the largest `after_s` of stage k (tool time). A step's prompt is the
// shared prefix `prefix` (`prefix_tokens` long), then the session history if `history`, then
// its thread's history if it names a `thread`, then `new_tokens` fresh tokens.
//
// The session history is what the steps publish, in stage and step order: by default each
// step's new tokens and output (`publish: 'all'`), or only its output (`'output'`, e.g. a
// searcher's notes without the page it read), or nothing (`'none'`). A thread is an agent's
// own conversation beside the session's (a searcher reading page after page): every step of
// the thread appends its new tokens and output to it, whatever it publishes.

export interface StepPlan {
  readonly agent: string;
  readonly stage: number;
  readonly prefix: string;
  readonly prefixTokens: number;
  readonly history: boolean;
  readonly newTokens: number;
  readonly outputTokens: number;
  readonly afterS: number;
  readonly model?: string;
  readonly thread?: string;
  readonly publish?: 'all' | 'output' | 'none';
}

export interface SessionPlan {
  readonly workflow: string;
  readonly session: string;
  readonly arrivalS: number;
  readonly model?: string;
  readonly steps: readonly StepPlan[];
}

/** Steps grouped by stage, in stage order. */
export function stagesOf(plan: SessionPlan): StepPlan[][] {
  const byStage = new Map<number, StepPlan[]>();
  for (const s of plan.steps) {
    const list = byStage.get(s.stage) ?? [];
    list.push(s);
    byStage.set(s.stage, list);
  }
  return [...byStage.entries()].sort((a, b) => a[0] - b[0]).map(([, steps]) => steps);
}

/**
 * The context a session's steps read, over any representation of a piece of prompt (token
 * runs in the simulator, token counts in trace synthesis).
 */
export class SessionHistory<T> {
  private readonly shared: T[] = [];
  private readonly threads = new Map<string, T[]>();

  /** What goes between the step's prefix and its fresh tokens. */
  context(step: StepPlan): T[] {
    const own = step.thread === undefined ? [] : (this.threads.get(step.thread) ?? []);
    return step.history ? [...this.shared, ...own] : [...own];
  }

  /** Records a finished step (call in stage and step order, once its stage is done). */
  record(step: StepPlan, fresh: T, output: T): void {
    const publish = step.publish ?? 'all';
    if (publish === 'all') this.shared.push(fresh, output);
    else if (publish === 'output') this.shared.push(output);
    if (step.thread !== undefined) {
      const own = this.threads.get(step.thread) ?? [];
      own.push(fresh, output);
      this.threads.set(step.thread, own);
    }
  }
}
