// The live sessions this replica has seen: each one's stage history, for predictions.
// Bounded (approximate LRU in two generations, O(1) per request); a session idle for
// longer than `idleMs` with nothing running starts afresh when it comes back.
import { TwoGenerationCache } from '../../../../core/src/bounded/two-generation-cache.js';
import { LiveStages } from '../../../../core/src/workflow/stages.js';
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';

interface Tracked {
  stages: LiveStages;
  lastSeenMs: number;
}

export class SessionTracker {
  private readonly sessions: TwoGenerationCache<string, Tracked>;

  constructor(
    maxSessions: number,
    private readonly idleMs: number,
  ) {
    this.sessions = new TwoGenerationCache(maxSessions);
  }

  private static key(id: WorkflowIdentity): string {
    return `${id.workflow}\u0000${id.session}`;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Records a request starting; returns the session's stages including it. */
  start(id: WorkflowIdentity, nowMs: number): LiveStages {
    const key = SessionTracker.key(id);
    let tracked = this.sessions.get(key);
    if (!tracked) {
      tracked = { stages: new LiveStages(), lastSeenMs: nowMs };
      this.sessions.set(key, tracked);
    } else if (nowMs - tracked.lastSeenMs > this.idleMs && tracked.stages.running === 0) {
      tracked.stages = new LiveStages();
    }
    tracked.lastSeenMs = nowMs;
    tracked.stages.start(id.agent, nowMs);
    return tracked.stages;
  }

  end(id: WorkflowIdentity, nowMs: number): void {
    const tracked = this.sessions.peek(SessionTracker.key(id));
    if (!tracked) return;
    tracked.stages.end();
    tracked.lastSeenMs = nowMs;
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
