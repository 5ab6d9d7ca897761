// A session to replay: the JSONL trace format of the bench (one session per line).
// Steps with the same `stage` run in parallel; stage k+1 starts when every step of stage k
// has finished plus the largest `after_s` of stage k (tool time). A step's prompt is the
// shared prefix `prefix` (`prefix_tokens` long), then the session history if `history`,
// then `new_tokens` fresh tokens.

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
