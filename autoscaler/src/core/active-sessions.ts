// The sessions in progress, as the autoscaler learns them: request starts (published by
// ext-proc as it routes, so a session is known from its first request on) and completed
// traces. Each session's stage roles so far (the same stage rule as the profiler and
// ext-proc), whether a request of its current stage still runs, and its pool. Bounded
// (entries, bytes with overhead, idle time; requests per session capped); a session leaves on
// its end marker or after the idle timeout. Starts are best effort: a trace without a start
// is taken alone.
import { BoundedMap } from '../../../core/src/bounded/bounded-map.js';
import { stringBytes } from '../../../core/src/bounded/memory-cost.js';
import { type TimedRequest, segmentStages } from '../../../core/src/workflow/stages.js';
import { exchangeKey, type RequestStart } from '../../../core/src/wire/request-start.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { SessionPosition } from './forecast.js';

/** Measured fixed cost of one session besides its strings and requests: Map slots, slot, record, array, Map. */
export const ACTIVE_SESSION_BYTES = 672;
/** Measured cost of one kept request (its record and array slot) besides its agent name. */
export const ACTIVE_REQUEST_BYTES = 48;
/** Measured cost of one open request id entry besides the id string. */
export const ACTIVE_OPEN_BYTES = 32;
/** Measured fixed cost of one learned agent pool besides its strings. */
export const AGENT_POOL_BYTES = 96;

export interface ActiveSessionBounds {
  /** Byte bound of the sessions, overhead included. */
  readonly maxBytes: number;
  /** A session not seen for this long is dropped (positions() also filters by its own idle time). */
  readonly idleMs: number;
  /** (workflow, agent) pools remembered, and their byte bound. */
  readonly maxAgentPools: number;
  readonly agentPoolBytes: number;
}

const DEFAULT_BOUNDS: ActiveSessionBounds = {
  maxBytes: 128 * 1024 * 1024,
  idleMs: Number.POSITIVE_INFINITY,
  maxAgentPools: 10_000,
  agentPoolBytes: 8 * 1024 * 1024,
};

function sessionBytes(key: string, s: Tracked): number {
  let bytes = ACTIVE_SESSION_BYTES + stringBytes(key) + stringBytes(s.workflow);
  for (const r of s.requests) bytes += ACTIVE_REQUEST_BYTES + stringBytes(r.agent);
  for (const id of s.open.keys()) bytes += ACTIVE_OPEN_BYTES + stringBytes(id);
  return bytes;
}

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
  private readonly sessions: BoundedMap<string, Tracked>;
  /** Pool each workflow agent's requests went to last (least recently seen dropped beyond the bounds). */
  private readonly agentPools: BoundedMap<string, string>;
  /** The latest time a caller passed: the tables' clock. */
  private nowMs = Number.NEGATIVE_INFINITY;

  constructor(
    maxSessions: number,
    bounds: Partial<ActiveSessionBounds> = {},
    private readonly maxRequestsPerSession = 256,
  ) {
    const b = { ...DEFAULT_BOUNDS, ...bounds };
    const now = () => this.nowMs;
    this.sessions = new BoundedMap({
      maxEntries: maxSessions,
      maxBytes: b.maxBytes,
      idleMs: b.idleMs,
      now,
      sizeOf: sessionBytes,
    });
    this.agentPools = new BoundedMap({
      maxEntries: b.maxAgentPools,
      maxBytes: b.agentPoolBytes,
      idleMs: b.idleMs,
      now,
      sizeOf: (key, pool) => AGENT_POOL_BYTES + stringBytes(key) + stringBytes(pool),
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  get sizeBytes(): number {
    return this.sessions.bytes + this.agentPools.bytes;
  }

  private tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
  }

  /** The session (created if new) and its key. */
  private tracked(workflow: string, session: string, pool: string, nowMs: number): [string, Tracked] {
    this.tick(nowMs);
    const key = `${workflow}\u0000${session}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = { workflow, pool, requests: [], open: new Map(), lastSeenMs: nowMs, ended: false };
      this.sessions.set(key, s);
    }
    s.pool = pool;
    s.lastSeenMs = nowMs;
    return [key, s];
  }

  /** The pool `agent` of `workflow` was last routed to. */
  poolOf(workflow: string, agent: string): string | undefined {
    return this.agentPools.peek(`${workflow}\u0000${agent}`);
  }

  private seen(workflow: string, agent: string, pool: string): void {
    const key = `${workflow}\u0000${agent}`;
    if (this.agentPools.get(key) !== pool) this.agentPools.set(key, pool);
  }

  /** A request was routed: the session is active and its current stage runs. */
  started(start: RequestStart, nowMs: number): void {
    this.seen(start.workflow, start.agent, start.pool);
    const [key, s] = this.tracked(start.workflow, start.session, start.pool, nowMs);
    const exchange = exchangeKey(start);
    if (s.open.has(exchange) || s.requests.length >= this.maxRequestsPerSession) return;
    // Still running: an open end keeps its stage open for requests that start meanwhile.
    s.open.set(exchange, s.requests.length);
    s.requests.push({ agent: start.agent, startMs: start.startUnixMs, endMs: Number.POSITIVE_INFINITY });
    this.sessions.resize(key);
  }

  /** A request finished (its trace). */
  ingest(trace: Trace, nowMs: number): void {
    this.seen(trace.workflow, trace.agent, trace.pool);
    const [key, s] = this.tracked(trace.workflow, trace.session, trace.pool, nowMs);
    const done: TimedRequest = { agent: trace.agent, startMs: trace.startUnixMs, endMs: trace.endUnixMs };
    const exchange = exchangeKey(trace);
    const index = s.open.get(exchange);
    if (index !== undefined) {
      s.requests[index] = done;
      s.open.delete(exchange);
    } else if (s.requests.length < this.maxRequestsPerSession) {
      s.requests.push(done);
    }
    if (trace.sessionEnd) s.ended = true;
    this.sessions.resize(key);
  }

  /** Positions of the sessions active at `nowMs` (seen within `idleMs`, not ended). */
  positions(nowMs: number, idleMs: number): SessionPosition[] {
    this.tick(nowMs);
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
