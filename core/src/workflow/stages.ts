// A session's requests grouped into stages by causality, never by speed: a request that starts
// after every request of the current stage has ended may depend on their output, so it opens
// the next stage; a request that starts while one of the stage still runs is a sibling of the
// fan-out (a planner's parallel explorers). Siblings launched in one burst are also recognised
// by their starts falling within LAUNCH_WINDOW_MS of each other, which covers a sibling that
// ended before the next one's headers were seen. No window is measured from the stage's start:
// a fast agent (a 2-token classifier on a cached prefix) answering within any such window would
// merge a sequential step into a parallel one. The same rule runs offline on trace timestamps
// (profiler) and online on live requests (ext-proc), so both see the same stages.

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

/**
 * Sibling launch window: a request starting less than this after the stage's latest start
 * joins it even if every earlier sibling already ended. It is below the fastest possible
 * round trip (a response cannot arrive and be acted on within it), so a sequential step is
 * never mistaken for a sibling at any upstream latency from 1 ms up.
 */
export const LAUNCH_WINDOW_MS = 1;

function roleOf(agents: readonly string[]): string {
  const distinct = [...new Set(agents)].sort();
  return distinct.join('+');
}

/** Offline segmentation of one session's requests (any order). */
export function segmentStages(requests: readonly TimedRequest[], windowMs = LAUNCH_WINDOW_MS): Stage[] {
  const sorted = [...requests].sort((a, b) => a.startMs - b.startMs || a.agent.localeCompare(b.agent));
  const stages: Stage[] = [];
  let agents: string[] = [];
  let start = 0;
  let lastStart = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const r of sorted) {
    const joins = agents.length > 0 && (r.startMs < end || r.startMs - lastStart < windowMs);
    lastStart = r.startMs;
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

/** Inserts `item` into the sorted `list` unless present (code-unit order, as sort()); true if added. */
export function insertSorted(list: string[], item: string): boolean {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as string) < item) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] === item) return false;
  list.splice(lo, 0, item);
  return true;
}

/**
 * Online segmentation for one live session (ext-proc): requests are added as they start
 * and ended as they finish. Bounded: only the current stage's distinct agents and request
 * count, and the roles of earlier stages (at most `maxHistory`). The current stage's role is
 * kept, not rebuilt per request: a session whose requests always overlap stays in one stage,
 * and rebuilding its role from every request it held grew with the session.
 */
export class LiveStages {
  /** The current stage's distinct agents, sorted: its role's parts. */
  private distinct: string[] = [];
  /** Requests in the current stage. */
  private width = 0;
  /** roleOf(the current stage's agents). */
  private role = '';
  private inFlight = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  /** Completed stages' roles, most recent last (bounded). */
  private readonly history: string[] = [];

  constructor(private readonly maxHistory = 64) {}

  /** Adds a starting request; returns true if it opened a new stage. */
  start(agent: string, nowMs: number, windowMs = LAUNCH_WINDOW_MS): boolean {
    const joins = this.width > 0 && (this.inFlight > 0 || nowMs - this.lastStart < windowMs);
    this.lastStart = nowMs;
    if (!joins) {
      if (this.width > 0) {
        this.history.push(this.role);
        if (this.history.length > this.maxHistory) this.history.shift();
      }
      this.distinct = [];
      this.width = 0;
    }
    if (insertSorted(this.distinct, agent)) this.role = this.distinct.join('+');
    this.width++;
    this.inFlight++;
    return !joins;
  }

  end(): void {
    if (this.inFlight > 0) this.inFlight--;
  }

  /** Completed stage roles followed by the current stage's role. */
  roles(): string[] {
    return this.width > 0 ? [...this.history, this.role] : [...this.history];
  }

  get currentWidth(): number {
    return this.width;
  }

  get running(): number {
    return this.inFlight;
  }
}
