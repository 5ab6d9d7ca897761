// The sessions in progress, as the autoscaler learns them from completed-request traces:
// each one's stage roles so far (the same stage rule as the profiler and ext-proc) and its
// pool. Bounded (two-generation cache, requests per session capped); a session leaves on
// its end marker or after the idle timeout.
import { TwoGenerationCache } from '../../../../common/src/two-generation-cache.js';
import { type TimedRequest, segmentStages } from '../stages.js';
import type { Trace } from '../trace.js';
import type { SessionPosition } from './forecast.js';

interface Tracked {
  readonly workflow: string;
  pool: string;
  readonly requests: TimedRequest[];
  lastSeenMs: number;
  ended: boolean;
}

export class ActiveSessions {
  private readonly sessions: TwoGenerationCache<string, Tracked>;

  constructor(
    maxSessions: number,
    private readonly maxRequestsPerSession = 256,
  ) {
    this.sessions = new TwoGenerationCache(maxSessions);
  }

  ingest(trace: Trace, nowMs: number): void {
    const key = `${trace.workflow}\u0000${trace.session}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = { workflow: trace.workflow, pool: trace.pool, requests: [], lastSeenMs: nowMs, ended: false };
      this.sessions.set(key, s);
    }
    if (s.requests.length < this.maxRequestsPerSession) {
      s.requests.push({ agent: trace.agent, startMs: trace.startUnixMs, endMs: trace.endUnixMs });
    }
    s.pool = trace.pool;
    s.lastSeenMs = nowMs;
    if (trace.sessionEnd) s.ended = true;
  }

  /** Positions of the sessions active at `nowMs` (seen within `idleMs`, not ended). */
  positions(nowMs: number, idleMs: number): SessionPosition[] {
    const out: SessionPosition[] = [];
    for (const [key, s] of this.sessions.entries()) {
      if (s.ended || nowMs - s.lastSeenMs > idleMs) {
        this.sessions.delete(key);
        continue;
      }
      out.push({
        workflow: s.workflow,
        pool: s.pool,
        roles: segmentStages(s.requests).map((st) => st.role),
        running: false,
      });
    }
    return out;
  }
}
