// A session's requests grouped into stages by causality, never by speed: a request that starts
// after every request of the current stage has ended may depend on their output, so it opens
// the next stage; a request that starts while one of the stage still runs is a sibling of the
// fan-out (a planner's parallel explorers). Siblings launched in one burst are also recognised
// by their starts falling within LAUNCH_WINDOW_MS of each other, which covers a sibling that
// ended before the next one's headers were seen. No window is measured from the stage's start:
// a fast agent (a 2-token classifier on a cached prefix) answering within any such window would
// merge a sequential step into a parallel one. The same rule runs offline on trace timestamps
// (profiler) and online on live requests (ext-proc), so both see the same stages.
//
// Online, a request's end may be seen late (another ext-proc replica served it and its end
// event is still on its way) while the session's next request already arrived: that request
// would join a stage that has in truth ended. So online the conversation also proves order:
// a request whose history answers a running request's last message (prompt/order-mark.ts)
// starts after that request ended, and the running request counts as ended from then on.
// Offline, trace timestamps already say when each request ended, so the same rule needs
// no marks there: a proof only ever settles a request that had ended.
import type { OrderMark } from '../prompt/order-mark.js';

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

/** Marked requests in flight remembered per session (more run unmarked: only their end settles them). */
export const MAX_OPEN_MARKS = 32;

/** What a starting request's own conversation says (online). */
export interface StartOrder {
  /** The request's mark, for later requests to prove (null: none). */
  readonly mark: OrderMark | null;
  /** Whether its history answers a running request's mark. */
  proves(mark: OrderMark): boolean;
  /** Where the running requests' marks it proved are appended (when given). */
  readonly proved?: OrderMark[];
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
 * count, the roles of earlier stages (at most `maxHistory`), and the marks of at most
 * MAX_OPEN_MARKS requests in flight. The current stage's role is kept, not rebuilt per
 * request: a session whose requests always overlap stays in one stage, and rebuilding its
 * role from every request it held grew with the session.
 */
export class LiveStages {
  /** The current stage's distinct agents, sorted: its role's parts. */
  private distinct: string[] = [];
  /** Requests in the current stage. */
  private width = 0;
  /** roleOf(the current stage's agents). */
  private role = '';
  /** Running requests without a remembered mark. */
  private unmarked = 0;
  /** Marks of running requests. */
  private readonly open: OrderMark[] = [];
  /** Requests a later one proved ended whose end has not been seen yet. */
  private settled = 0;
  private lastStart = Number.NEGATIVE_INFINITY;
  /** Completed stages' roles, most recent last (bounded). */
  private readonly history: string[] = [];

  constructor(private readonly maxHistory = 64) {}

  /** Adds a starting request; returns true if it opened a new stage. */
  start(agent: string, nowMs: number, windowMs = LAUNCH_WINDOW_MS, order: StartOrder | null = null): boolean {
    if (order && this.open.length > 0) {
      // Running requests whose answer is in this one's history have ended.
      for (let i = this.open.length - 1; i >= 0; i--) {
        if (!order.proves(this.open[i] as OrderMark)) continue;
        order.proved?.push(this.open[i] as OrderMark);
        this.open.splice(i, 1);
        this.settled++;
      }
    }
    const joins = (this.width > 0 && this.running > 0) || this.launchedWith(nowMs, windowMs);
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
    if (order?.mark && this.open.length < MAX_OPEN_MARKS) this.open.push(order.mark);
    else this.unmarked++;
    return !joins;
  }

  /**
   * A request ended (`mark`: the one it started with). Its mark leaves the running ones; a
   * request already proved ended only clears its proof. Counts stay exact whatever the
   * order; which of two requests with equal marks is which does not matter.
   */
  end(mark: OrderMark | null = null): void {
    if (mark) {
      const i = this.open.findIndex((m) => m.index === mark.index && m.hash === mark.hash);
      if (i >= 0) {
        this.open.splice(i, 1);
        return;
      }
      if (this.settled > 0) {
        this.settled--;
        return;
      }
    }
    if (this.unmarked > 0) this.unmarked--;
    else if (this.settled > 0) this.settled--;
    else this.open.shift();
  }

  /** Completed stage roles followed by the current stage's role. */
  roles(): string[] {
    return this.width > 0 ? [...this.history, this.role] : [...this.history];
  }

  /** What roles() would be if a request of `agent` joined the current stage. */
  rolesJoined(agent: string): string[] {
    return [...this.history, roleOf(this.width === 0 ? [agent] : [...this.distinct, agent])];
  }

  /** Whether a request starting at `nowMs` is within the launch window of the stage's latest start. */
  launchedWith(nowMs: number, windowMs = LAUNCH_WINDOW_MS): boolean {
    return this.width > 0 && nowMs - this.lastStart < windowMs;
  }

  get currentWidth(): number {
    return this.width;
  }

  /** Requests running, as far as seen or proved. */
  get running(): number {
    return this.unmarked + this.open.length;
  }

  /** Marks remembered for requests in flight (bounded by MAX_OPEN_MARKS). */
  get marks(): number {
    return this.open.length;
  }
}
