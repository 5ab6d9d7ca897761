// A session's requests grouped into stages: requests that overlap in time (a planner's
// fan-out to parallel explorers) form one stage; a request that starts after every request
// of the current stage has ended starts the next. The same rule runs offline on trace
// timestamps (profiler) and online on live requests (ext-proc), so both see the same stages.

export interface Stage {
  /** The stage's role: its agent, or the sorted distinct agents joined by `+` when mixed. */
  readonly role: string;
  /** Parallel requests in the stage. */
  readonly width: number;
  readonly startMs: number;
  /** Latest end among its requests (NaN while one is still running online). */
  readonly endMs: number;
}

export interface TimedRequest {
  readonly agent: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** Requests starting within this window of a stage's start join it even if it already ended. */
export const PARALLEL_WINDOW_MS = 50;

function roleOf(agents: readonly string[]): string {
  const distinct = [...new Set(agents)].sort();
  return distinct.join('+');
}

/** Offline segmentation of one session's requests (any order). */
export function segmentStages(requests: readonly TimedRequest[], windowMs = PARALLEL_WINDOW_MS): Stage[] {
  const sorted = [...requests].sort((a, b) => a.startMs - b.startMs || a.agent.localeCompare(b.agent));
  const stages: Stage[] = [];
  let agents: string[] = [];
  let start = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const r of sorted) {
    const joins = agents.length > 0 && (r.startMs < end || r.startMs - start <= windowMs);
    if (!joins) {
      if (agents.length > 0)
        stages.push({ role: roleOf(agents), width: agents.length, startMs: start, endMs: end });
      agents = [];
      start = r.startMs;
      end = Number.NEGATIVE_INFINITY;
    }
    agents.push(r.agent);
    end = Math.max(end, r.endMs);
  }
  if (agents.length > 0)
    stages.push({ role: roleOf(agents), width: agents.length, startMs: start, endMs: end });
  return stages;
}

/**
 * Online segmentation for one live session (ext-proc): requests are added as they start
 * and ended as they finish. Bounded: only the current stage's agents and a running count of
 * earlier stages are kept, plus the last role and its repeat count.
 */
export class LiveStages {
  private agents: string[] = [];
  private inFlight = 0;
  private stageStart = 0;
  /** Completed stages' roles, most recent last (bounded). */
  private readonly history: string[] = [];

  constructor(private readonly maxHistory = 64) {}

  /** Adds a starting request; returns true if it opened a new stage. */
  start(agent: string, nowMs: number, windowMs = PARALLEL_WINDOW_MS): boolean {
    const joins = this.agents.length > 0 && (this.inFlight > 0 || nowMs - this.stageStart <= windowMs);
    if (!joins) {
      if (this.agents.length > 0) {
        this.history.push(roleOf(this.agents));
        if (this.history.length > this.maxHistory) this.history.shift();
      }
      this.agents = [];
      this.stageStart = nowMs;
    }
    this.agents.push(agent);
    this.inFlight++;
    return !joins;
  }

  end(): void {
    if (this.inFlight > 0) this.inFlight--;
  }

  /** Completed stage roles followed by the current stage's role. */
  roles(): string[] {
    return this.agents.length > 0 ? [...this.history, roleOf(this.agents)] : [...this.history];
  }

  get currentWidth(): number {
    return this.agents.length;
  }

  get running(): number {
    return this.inFlight;
  }
}
