// The sessions in progress, as the autoscaler learns them: request starts (published by
// ext-proc as it routes, so a session is known from its first request on) and completed
// traces. Each session's stage roles so far (the same stage rule as the profiler and
// ext-proc), whether a request of its current stage still runs, and its pool. Bounded
// (two-generation cache, requests per session capped); a session leaves on its end marker or
// after the idle timeout. Starts are best effort: a trace without a start is taken alone.
import { TwoGenerationCache } from '../../../core/src/bounded/two-generation-cache.js';
import { type TimedRequest, segmentStages } from '../../../core/src/workflow/stages.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { SessionPosition } from './forecast.js';

const MAX_AGENT_POOLS = 10_000;

interface Tracked {
  readonly workflow: string;
  pool: string;
  readonly requests: TimedRequest[];
  /** Requests started and not finished yet: request id -> index in `requests`. */
  readonly open: Map<string, number>;
  lastSeenMs: number;
  ended: boolean;
}

export class ActiveSessions {
  private readonly sessions: TwoGenerationCache<string, Tracked>;
  /** Pool each workflow agent's requests went to last (agents are few: not evicted). */
  private readonly agentPools = new Map<string, string>();

  constructor(
    maxSessions: number,
    private readonly maxRequestsPerSession = 256,
  ) {
    this.sessions = new TwoGenerationCache(maxSessions);
  }

  private tracked(workflow: string, session: string, pool: string, nowMs: number): Tracked {
    const key = `${workflow}\u0000${session}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = { workflow, pool, requests: [], open: new Map(), lastSeenMs: nowMs, ended: false };
      this.sessions.set(key, s);
    }
    s.pool = pool;
    s.lastSeenMs = nowMs;
    return s;
  }

  /** The pool `agent` of `workflow` was last routed to. */
  poolOf(workflow: string, agent: string): string | undefined {
    return this.agentPools.get(`${workflow}\u0000${agent}`);
  }

  private seen(workflow: string, agent: string, pool: string): void {
    // Bounded in practice by workflows x roles; a hostile flood of agent names is capped.
    const key = `${workflow}\u0000${agent}`;
    if (this.agentPools.has(key) || this.agentPools.size < MAX_AGENT_POOLS) this.agentPools.set(key, pool);
  }

  /** A request was routed: the session is active and its current stage runs. */
  started(start: RequestStart, nowMs: number): void {
    this.seen(start.workflow, start.agent, start.pool);
    const s = this.tracked(start.workflow, start.session, start.pool, nowMs);
    if (s.open.has(start.requestId) || s.requests.length >= this.maxRequestsPerSession) return;
    // Still running: an open end keeps its stage open for requests that start meanwhile.
    s.open.set(start.requestId, s.requests.length);
    s.requests.push({ agent: start.agent, startMs: start.startUnixMs, endMs: Number.POSITIVE_INFINITY });
  }

  /** A request finished (its trace). */
  ingest(trace: Trace, nowMs: number): void {
    this.seen(trace.workflow, trace.agent, trace.pool);
    const s = this.tracked(trace.workflow, trace.session, trace.pool, nowMs);
    const done: TimedRequest = { agent: trace.agent, startMs: trace.startUnixMs, endMs: trace.endUnixMs };
    const index = s.open.get(trace.requestId);
    if (index !== undefined) {
      s.requests[index] = done;
      s.open.delete(trace.requestId);
    } else if (s.requests.length < this.maxRequestsPerSession) {
      s.requests.push(done);
    }
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
        inFlight: s.open.size,
      });
    }
    return out;
  }
}
