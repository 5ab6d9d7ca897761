// The live sessions this replica has seen: each one's stage history, for predictions.
// Within entry, byte (overhead included) and idle bounds (approximate LRU in two
// generations, O(1) per request); a session idle for longer than `idleMs` starts afresh
// when it comes back.
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';
import type { Bounds } from '../../../../core/src/bounded/bounds.js';
import { stringBytes } from '../../../../core/src/bounded/memory-cost.js';
import type { OrderMark } from '../../../../core/src/prompt/order-mark.js';
import { LiveStages, type StartOrder } from '../../../../core/src/workflow/stages.js';
import { type WorkflowIdentity, sessionKey } from '../../../../core/src/workflow/identifiers.js';

interface Tracked {
  stages: LiveStages;
  /** Requests started in the session (the stages keep at most a bounded number of them). */
  starts: number;
  /** Bytes of the longest agent name seen in the session. */
  agentBytes: number;
  /** When the session's first request started here (monotonic ms). */
  firstMs: number;
  /** Its requests this replica routed that have not ended (their ends are never late). */
  local: number;
}

/**
 * Measured fixed cost of one session besides its key: Map slots, slot, record (with its local
 * count) and its LiveStages. `npm run bench:cardinality -- --measure` on 3 December 2026: 584-590 B
 * an entry in all, against 608 estimated (544 B before the local count: 503 measured).
 */
export const TRACKER_ENTRY_BYTES = 544;
/** Cost of one remembered request or stage besides its agent name: an array slot (and growth). */
export const TRACKER_SLOT_BYTES = 8;
/** Cost of one remembered mark of a request in flight: an array slot and the mark object. */
export const TRACKER_MARK_BYTES = 48;
/** Stages a LiveStages remembers at most (its default), plus the current one. */
const MAX_REMEMBERED = 65;

export class SessionTracker {
  private readonly sessions: BoundedMap<string, Tracked>;
  /**
   * Told of running requests a starting one proved ended (the replica view releases another
   * replica's request there and then, as its end would); needs `order.proved` at start.
   */
  onSettled: ((id: WorkflowIdentity, marks: readonly OrderMark[], nowMs: number) => void) | null = null;

  constructor(bounds: Bounds, now: () => number) {
    this.sessions = new BoundedMap({
      ...bounds,
      now,
      // An upper estimate: every start kept (up to the stages' bound plus the current stage's width),
      // each holding its own agent-name string.
      sizeOf: (key, t) =>
        TRACKER_ENTRY_BYTES +
        stringBytes(key) +
        Math.min(t.starts, MAX_REMEMBERED + t.stages.currentWidth) * (TRACKER_SLOT_BYTES + t.agentBytes) +
        // Marks of requests in flight (at most MAX_OPEN_MARKS): measured at each start, when
        // they grow; an end only shrinks them.
        t.stages.marks * TRACKER_MARK_BYTES,
    });
  }

  private static key(id: WorkflowIdentity): string {
    return sessionKey(id.workflow, id.session);
  }

  get size(): number {
    return this.sessions.size;
  }

  get sizeBytes(): number {
    return this.sessions.bytes;
  }

  /**
   * Records a request starting; returns the session's stages including it. `order`: what
   * its conversation proves (running requests it answers have ended) and its own mark;
   * `local`: this replica routes it (false: another replica's, folded from its events).
   */
  start(id: WorkflowIdentity, nowMs: number, order: StartOrder | null = null, local = false): LiveStages {
    const key = SessionTracker.key(id);
    let tracked = this.sessions.get(key);
    if (!tracked) tracked = { stages: new LiveStages(), starts: 0, agentBytes: 0, firstMs: nowMs, local: 0 };
    if (local) tracked.local++;
    const proved = order?.proved;
    const before = proved?.length ?? 0;
    tracked.stages.start(id.agent, nowMs, undefined, order);
    tracked.starts++;
    tracked.agentBytes = Math.max(tracked.agentBytes, stringBytes(id.agent));
    this.sessions.set(key, tracked);
    if (proved && proved.length > before) this.onSettled?.(id, proved.slice(before), nowMs);
    return tracked.stages;
  }

  /** A request of the session ended; `mark`: the one it started with; `local`: as at its start. */
  end(id: WorkflowIdentity, _nowMs: number, mark: OrderMark | null = null, local = false): void {
    const tracked = this.sessions.get(SessionTracker.key(id));
    if (!tracked) return;
    tracked.stages.end(mark);
    if (local && tracked.local > 0) tracked.local--;
  }

  /** The session's stages before its next request starts (undefined when not tracked). */
  stages(id: WorkflowIdentity): LiveStages | undefined {
    return this.sessions.peek(SessionTracker.key(id))?.stages;
  }

  /** Requests of the session this replica routed that have not ended. */
  localRunning(id: WorkflowIdentity): number {
    return this.sessions.peek(SessionTracker.key(id))?.local ?? 0;
  }

  /** When the session's first request started (monotonic ms), or null when not tracked. */
  firstStart(id: WorkflowIdentity): number | null {
    return this.sessions.peek(SessionTracker.key(id))?.firstMs ?? null;
  }

  /** Requests of the session still running on this replica. */
  running(id: WorkflowIdentity): number {
    return this.sessions.peek(SessionTracker.key(id))?.stages.running ?? 0;
  }

  /** Forgets a session (its end marker was seen and the request finished). */
  forget(id: WorkflowIdentity): void {
    this.sessions.delete(SessionTracker.key(id));
  }
}
