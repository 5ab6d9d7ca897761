// The profiler's whole state machine, pure and bounded: traces in (each with an opaque
// acknowledgement token), sessions completed on idle or end marker, models rebuilt, and the
// tokens to acknowledge once a session's learning is durable. At-least-once delivery is
// made idempotent by request id, and storage by session identity: a completed session is
// named by its workflow, session id and first request's start (sessionIdentity), and one that
// falls within a session already stored (a replay after a crash, a late redelivery) is
// recognised as a duplicate and never stored or learned again.
//
// With `learnOnStore` (the service), a completed session waits in `awaitingStore` until the
// caller reports it stored (stored()); only then is it learned and are its traces' tokens
// handed back for acknowledgement. A session whose store failed stays there and is retried.

import type { SessionSummary } from '../../../core/src/wire/codec.js';
import { BoundedMap } from '../../../core/src/bounded/bounded-map.js';
import { CompetingNames } from '../../../core/src/bounded/competing-names.js';
import { stringBytes } from '../../../core/src/bounded/memory-cost.js';
import { parseIdentity, sessionKey } from '../../../core/src/workflow/identifiers.js';
import type { ModeDecision } from './promotion.js';
import { TRACE_TEXT_FIELDS, type Trace, traceDedupeId } from '../../../core/src/wire/trace.js';
import { type LearnerConfig, WorkflowLearner } from './workflow-learner.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';

export interface ProfilerCoreConfig extends LearnerConfig {
  readonly sessionIdleMs: number;
  /** After an explicit end marker, wait this long for parallel siblings still reporting. */
  readonly endGraceMs: number;
  /** Workflow names kept; beyond, names compete by evidence and recency (LearnerConfig.nameHalfLifeMs). */
  readonly maxWorkflows: number;
  /** Byte bound of everything learned across workflows (WorkflowLearner.bytes); the weakest workflows go first. */
  readonly learnersBytes: number;
  /** Open sessions (and, in learnOnStore mode, as many waiting for their store). */
  readonly maxOpenSessions: number;
  /** Byte bound of the traces held by open and waiting sessions, overhead included. */
  readonly openSessionsBytes: number;
  readonly maxRequestsPerSession: number;
  /** Entry bound of each deduplication table (trace ids seen, sessions stored). */
  readonly dedupeCapacity: number;
  /** Byte bound of each deduplication table, overhead included. */
  readonly dedupeBytes: number;
  /** A trace id (exchange id) or stored session not touched for this long leaves its table. */
  readonly dedupeIdleMs: number;
  readonly maxIdentifierLength: number;
}

/**
 * `overloaded`: the sessions waiting for their store fill their bounds; the trace is not
 * final, its caller leaves it unacknowledged for a later redelivery.
 */
export type RejectReason = 'invalid_identifier' | 'duplicate' | 'session_too_long' | 'overloaded';

// Measured per-entry costs (`npm run bench:cardinality -- --measure`, beyond the strings).
/** A request id in the seen-ids table: BoundedMap slot object and Map entry. */
export const SEEN_ID_BYTES = 112;
/** A stored session's entry: slot object, Map entry, its spans array. */
export const STORED_ENTRY_BYTES = 176;
/** One span of a stored session. */
export const STORED_SPAN_BYTES = 72;
/** An open session besides its traces: the object, its arrays and token Map, its slot in `open`. */
export const OPEN_SESSION_BYTES = 480;
/** A held trace besides its strings: the object (doubles boxed), its array and Map slots. */
export const TRACE_BYTES = 320;
/** A waiting session's record besides its traces: result, summary, Map entries. */
export const AWAITING_BYTES = 640;
/** One request of a waiting session's summary, and its request-id index entry. */
export const SUMMARY_REQUEST_BYTES = 160;

/** Estimated bytes a held trace costs, overhead included (its token's cost added by the caller). */
export function traceBytes(t: Trace): number {
  let b = TRACE_BYTES + stringBytes(t.status);
  for (const f of TRACE_TEXT_FIELDS) b += stringBytes(t[f]);
  return b;
}

interface OpenSession<T> {
  readonly workflow: string;
  readonly session: string;
  readonly traces: Trace[];
  readonly tokens: Map<string, T>;
  lastSeenMs: number;
  endSeenMs: number | null;
  /** Estimated bytes of the session and its traces (and tokens). */
  bytes: number;
  /**
   * Opened by a trace read without a token (a new leader reading past the acknowledgement
   * floor): until this time, while no trace of it comes with a token, it may be a session
   * already stored and acknowledged (see ProfilerCoreOptions.redeliveryWaitMs).
   */
  unconfirmedUntilMs: number | null;
}

export interface CompletedSessionResult<T> {
  /** The stored record's identity (sessionIdentity): the same for every replay of the session. */
  readonly id: string;
  readonly summary: SessionSummary;
  /** Acknowledge these once the summary is stored (learnOnStore: the tokens known so far). */
  readonly acks: readonly T[];
  readonly reason: 'idle' | 'end_marker' | 'evicted';
  /** Within a session already stored: acknowledge its tokens, store and learn nothing. */
  readonly duplicate: boolean;
}

export interface ProfilerCoreOptions<T = unknown> {
  /**
   * Learn a completed session only once the caller reports it durably stored (stored()).
   * Without it (offline builds, the simulator) a session is learned as it completes.
   */
  readonly learnOnStore?: boolean;
  /** Estimated bytes of an acknowledgement token (a JetStream message), for the byte bound. */
  readonly tokenBytes?: (token: T) => number;
  /**
   * With learnOnStore: the longest a trace left unacknowledged by a crashed leader takes to be
   * redelivered (the consumer's ack wait, plus a margin). A session assembled only from traces
   * read without a token waits this long for one; if none comes, every trace of it had been
   * acknowledged, so it was stored, and it is dropped as a duplicate. Without this, a session
   * stored long ago (its summary gone from the sessions stream, so unknown to a restarted
   * profiler) whose later traces lie past the floor, held back by a long open session, is stored
   * again as a fragment. Unset: such sessions complete as any other.
   */
  readonly redeliveryWaitMs?: number;
}

/** A stored session's time span, to recognise replays of any part of it. */
interface StoredSpan {
  readonly startUnixMs: number;
  readonly endUnixMs: number;
}

interface AwaitingStore<T> {
  readonly key: string;
  readonly result: CompletedSessionResult<T>;
  readonly traces: readonly Trace[];
  readonly tokens: Map<string, T>;
  readonly bytes: number;
}

/**
 * A completed session's identity: workflow, session id and the start of its first request,
 * so the same session assembled again (after a crash, from redelivered traces) gets the same
 * name, and a later run under a reused session id (after an idle gap) a new one.
 */
export function sessionIdentity(workflow: string, session: string, firstStartUnixMs: number): string {
  return `${workflow}\u0000${session}\u0000${firstStartUnixMs}`;
}

export interface RebuiltModel {
  readonly model: WorkflowModel;
  readonly decision: ModeDecision;
  readonly modeChanged: boolean;
}

export class ProfilerCore<T> {
  private readonly learners: CompetingNames<WorkflowLearner>;
  private readonly open = new Map<string, OpenSession<T>>();
  private readonly seenIds: BoundedMap<string, true>;
  private readonly pendingEvictions: CompletedSessionResult<T>[] = [];
  /** Stored sessions by session key (workflow, session): their spans, most recent last. */
  private readonly storedSpans: BoundedMap<string, StoredSpan[]>;
  /** The latest time seen (the bounded tables' clock). */
  private clockMs = Number.NEGATIVE_INFINITY;
  private openBytes = 0;
  /** Bytes of the sessions waiting for their store. */
  private heldDoneBytes = 0;
  private learnersBytesTotal = 0;
  private nextIdleSweepMs = Number.NEGATIVE_INFINITY;
  /** Workflows forgotten (byte bound, idle, or a stronger name), for the caller to retract their models. */
  private readonly forgotten = new Set<string>();
  private readonly tokenBytes: (token: T) => number;
  private readonly awaiting = new Map<string, AwaitingStore<T>>();
  /** Traces (traceDedupeId) of the sessions awaiting their store -> their identity. */
  private readonly awaitingByRequest = new Map<string, string>();
  private readonly learnOnStore: boolean;
  private readonly redeliveryWaitMs: number | null;
  readonly rejected = new Map<RejectReason, number>();

  constructor(
    private readonly config: ProfilerCoreConfig,
    options: ProfilerCoreOptions<T> = {},
  ) {
    const now = () => this.clockMs;
    const dedupe = {
      maxEntries: config.dedupeCapacity,
      maxBytes: config.dedupeBytes,
      idleMs: config.dedupeIdleMs,
    };
    this.seenIds = new BoundedMap({ ...dedupe, now, sizeOf: (id) => SEEN_ID_BYTES + stringBytes(id) });
    this.storedSpans = new BoundedMap({
      ...dedupe,
      now,
      sizeOf: (key, spans) => STORED_ENTRY_BYTES + stringBytes(key) + spans.length * STORED_SPAN_BYTES,
    });
    this.learnOnStore = options.learnOnStore === true;
    this.tokenBytes = options.tokenBytes ?? (() => 0);
    this.redeliveryWaitMs = this.learnOnStore ? (options.redeliveryWaitMs ?? null) : null;
    this.learners = new CompetingNames(config.maxWorkflows, config.nameHalfLifeMs);
  }

  /** Sessions collecting traces, and completed ones waiting for their store. */
  get openSessions(): number {
    return this.open.size + this.awaiting.size;
  }

  /** Completed sessions whose store has not succeeded yet (learnOnStore). */
  get awaitingStore(): number {
    return this.awaiting.size;
  }

  get workflows(): number {
    return this.learners.size;
  }

  /** Every bounded table's entries and estimated bytes (metrics, the cardinality bench). */
  get tables(): Record<'open' | 'seenIds' | 'storedSpans' | 'learners', { entries: number; bytes: number }> {
    return {
      open: { entries: this.open.size + this.awaiting.size, bytes: this.openBytes + this.heldDoneBytes },
      seenIds: { entries: this.seenIds.size, bytes: this.seenIds.bytes },
      storedSpans: { entries: this.storedSpans.size, bytes: this.storedSpans.bytes },
      learners: { entries: this.learners.size, bytes: this.learnersBytesTotal },
    };
  }

  /** Workflows forgotten since the last call (their published models are stale). */
  takeForgotten(): string[] {
    const out = [...this.forgotten];
    this.forgotten.clear();
    return out;
  }

  private tick(nowMs: number): void {
    if (nowMs > this.clockMs) this.clockMs = nowMs;
  }

  /** Re-counts a learner's bytes, then evicts the weakest workflows while over the byte bound. */
  private account(learner: WorkflowLearner): void {
    const b = learner.bytes;
    this.learnersBytesTotal += b - learner.accountedBytes;
    learner.accountedBytes = b;
    while (this.learnersBytesTotal > this.config.learnersBytes && this.learners.size > 0) {
      const gone = this.learners.evictWeakest(this.clockMs);
      if (gone) this.forget(gone[0], gone[1]);
    }
  }

  private forget(workflow: string, learner: WorkflowLearner): void {
    this.learnersBytesTotal -= learner.accountedBytes;
    learner.accountedBytes = 0;
    this.forgotten.add(workflow);
    // A standby never takes them: the oldest go beyond twice the workflow bound.
    if (this.forgotten.size > 2 * this.config.maxWorkflows)
      this.forgotten.delete(this.forgotten.values().next().value as string);
  }

  /** Forgets workflows and agents idle for nameIdleMs (at most every 1/16 of it). */
  private sweepIdle(nowMs: number): void {
    if (nowMs < this.nextIdleSweepMs) return;
    this.nextIdleSweepMs = nowMs + this.config.nameIdleMs / 16;
    for (const [workflow, learner] of this.learners.expireIdle(nowMs, this.config.nameIdleMs))
      this.forget(workflow, learner);
    for (const learner of this.learners.values())
      if (learner.expireIdleAgents(nowMs) > 0) this.account(learner);
  }

  private reject(reason: RejectReason): { accepted: false; reason: RejectReason } {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    return { accepted: false, reason };
  }

  /** Records sightings of a workflow name; a new one takes the place of the weakest. */
  private learner(workflow: string, nowMs: number, evidence = 1): WorkflowLearner {
    if (!this.learners.has(workflow)) this.forgotten.delete(workflow);
    const { value, evicted } = this.learners.observe(
      workflow,
      nowMs,
      () => new WorkflowLearner(workflow, this.config),
      evidence,
    );
    if (evicted) this.forget(evicted[0], evicted[1]);
    return value;
  }

  /**
   * Takes one trace. Rejected and duplicate traces are to be acknowledged at once (they
   * are final); accepted ones are acknowledged when their session completes.
   */
  ingest(
    trace: Trace,
    token: T | null,
    nowMs: number,
  ): { accepted: true } | { accepted: false; reason: RejectReason } {
    this.tick(nowMs);
    const identity = parseIdentity(trace, this.config.maxIdentifierLength);
    if (identity.kind !== 'workflow' || trace.requestId === '') return this.reject('invalid_identifier');
    const key = sessionKey(trace.workflow, trace.session);
    const open = this.open.get(key);
    const seenKey = traceDedupeId(trace);
    if (this.seenIds.has(seenKey)) {
      // A redelivery (or a trace first read by a replay, without a token). While its session is
      // open or waiting for its store, the newest token is kept for the acknowledgement;
      // otherwise its session is stored (or it was rejected) and it is acknowledged at once.
      // Such a held redelivery counts as accepted: it is acknowledged with its session.
      if (token !== null) {
        const waiting = this.awaiting.get(this.awaitingByRequest.get(seenKey) ?? '');
        if (waiting) {
          waiting.tokens.set(seenKey, token);
          return { accepted: true };
        }
        if (open?.traces.some((t) => traceDedupeId(t) === seenKey)) {
          open.tokens.set(seenKey, token);
          return { accepted: true };
        }
      }
      return this.reject('duplicate');
    }
    if (open && open.traces.length >= this.config.maxRequestsPerSession)
      return this.reject('session_too_long');
    const bytes = traceBytes(trace) + (token === null ? 0 : this.tokenBytes(token));
    const added = bytes + (open ? 0 : OPEN_SESSION_BYTES + stringBytes(key));
    // Sessions waiting for their store cannot be dropped (their traces are not acknowledged
    // yet): past their bounds, new traces wait in the stream. Open sessions make room by
    // completing the oldest (handed out by the next completeDue()).
    if (
      this.awaiting.size >= this.config.maxOpenSessions ||
      this.heldDoneBytes + added > this.config.openSessionsBytes
    )
      return this.reject('overloaded');
    if (!open && this.open.size >= this.config.maxOpenSessions) this.evictOldest(key);
    while (this.openBytes + added > this.config.openSessionsBytes) if (!this.evictOldest(key)) break;
    if (this.openBytes + added > this.config.openSessionsBytes) return this.reject('session_too_long');

    this.seenIds.set(seenKey, true);
    const learner = this.learner(trace.workflow, nowMs);
    // A learner's bytes change with a new agent (its samples grow only as sessions complete).
    if (learner.observeAgent(trace.agent, nowMs) || learner.accountedBytes === 0) this.account(learner);
    let session = open;
    if (session) {
      this.open.delete(key); // re-insert: the Map's order is the LRU order
    } else {
      session = {
        workflow: trace.workflow,
        session: trace.session,
        traces: [],
        tokens: new Map(),
        lastSeenMs: nowMs,
        endSeenMs: null,
        bytes: OPEN_SESSION_BYTES + stringBytes(key),
        unconfirmedUntilMs:
          token === null && this.redeliveryWaitMs !== null ? nowMs + this.redeliveryWaitMs : null,
      };
    }
    session.traces.push(trace);
    session.bytes += bytes;
    this.openBytes += added;
    if (token !== null) session.tokens.set(seenKey, token);
    session.lastSeenMs = nowMs;
    if (trace.sessionEnd && session.endSeenMs === null) session.endSeenMs = nowMs;
    this.open.set(key, session);
    return { accepted: true };
  }

  /** Completes the least recently active open session other than `keep`'s; false if none. */
  private evictOldest(keep: string): boolean {
    for (const [key, session] of this.open) {
      if (key === keep) continue;
      this.removeOpen(key, session);
      this.pendingEvictions.push(this.complete(session, 'evicted'));
      return true;
    }
    return false;
  }

  private removeOpen(key: string, session: OpenSession<T>): void {
    this.open.delete(key);
    this.openBytes -= session.bytes;
  }

  private isStored(key: string, firstStartUnixMs: number): boolean {
    const spans = this.storedSpans.peek(key);
    return spans?.some((s) => firstStartUnixMs >= s.startUnixMs && firstStartUnixMs <= s.endUnixMs) ?? false;
  }

  private markStored(key: string, span: StoredSpan): void {
    const spans = this.storedSpans.get(key) ?? [];
    // A session id reused run after run keeps only its latest few spans.
    this.storedSpans.set(key, [...spans.slice(-3), span]);
  }

  private complete(
    session: OpenSession<T>,
    reason: CompletedSessionResult<T>['reason'],
    knownStored = false,
  ): CompletedSessionResult<T> {
    const key = sessionKey(session.workflow, session.session);
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const t of session.traces) {
      first = Math.min(first, t.startUnixMs);
      last = Math.max(last, t.endUnixMs);
    }
    // Offline builds and the simulator (no learnOnStore) learn every completion, as always.
    const duplicate = this.learnOnStore && (knownStored || this.isStored(key, first));
    const result: CompletedSessionResult<T> = {
      id: sessionIdentity(session.workflow, session.session, first),
      duplicate,
      summary: {
        workflow: session.workflow,
        session: session.session,
        requests: session.traces.map((t) => ({
          agent: t.agent,
          startUnixMs: t.startUnixMs,
          endUnixMs: t.endUnixMs,
          promptTokens: t.promptTokens,
          outputTokens: t.outputTokens,
          ok: t.status === 'OK',
        })),
      },
      acks: [...session.tokens.values()],
      reason,
    };
    if (duplicate) return result;
    if (!this.learnOnStore) {
      this.learn(session.workflow, session.traces);
      return result;
    }
    const waiting = this.awaiting.get(result.id);
    if (waiting) {
      // The same session completed again before its store (an eviction raced a replay): one record.
      for (const t of session.traces) {
        const id = traceDedupeId(t);
        if (waiting.traces.some((w) => traceDedupeId(w) === id)) continue;
        (waiting.traces as Trace[]).push(t);
        this.awaitingByRequest.set(id, result.id);
      }
      for (const [id, token] of session.tokens) waiting.tokens.set(id, token);
      return { ...result, duplicate: true, acks: [] };
    }
    const bytes =
      session.bytes + AWAITING_BYTES + stringBytes(result.id) + session.traces.length * SUMMARY_REQUEST_BYTES;
    this.awaiting.set(result.id, {
      key,
      result,
      traces: session.traces,
      tokens: new Map(session.tokens),
      bytes,
    });
    this.heldDoneBytes += bytes;
    for (const t of session.traces) this.awaitingByRequest.set(traceDedupeId(t), result.id);
    return result;
  }

  /** Completed sessions waiting for their store, oldest first (learnOnStore). */
  awaitingSessions(): CompletedSessionResult<T>[] {
    return [...this.awaiting.values()].map((w) => ({ ...w.result, acks: [...w.tokens.values()] }));
  }

  /**
   * The session `id` is durably stored (`duplicate`: the store found it already there). It is
   * learned (unless a duplicate) and the tokens of its traces are returned for acknowledgement.
   */
  stored(id: string, duplicate = false): T[] {
    const waiting = this.awaiting.get(id);
    if (!waiting) return [];
    this.awaiting.delete(id);
    this.heldDoneBytes -= waiting.bytes;
    for (const t of waiting.traces) this.awaitingByRequest.delete(traceDedupeId(t));
    const requests = waiting.result.summary.requests;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of requests) last = Math.max(last, r.endUnixMs);
    const first = Math.min(...requests.map((r) => r.startUnixMs));
    // A duplicate is another replica's record: learned when replay() reads it.
    if (!duplicate && !this.isStored(waiting.key, first)) {
      this.learn(waiting.result.summary.workflow, waiting.traces);
      this.markStored(waiting.key, { startUnixMs: first, endUnixMs: last });
    }
    return [...waiting.tokens.values()];
  }

  /**
   * Gives every open session a whole idle timeout from `nowMs` on: after an outage in which
   * no trace could arrive, so that a session in progress is not split by it.
   */
  restartIdleClocks(nowMs: number): void {
    for (const s of this.open.values()) s.lastSeenMs = Math.max(s.lastSeenMs, nowMs);
  }

  /** Learns a completed session into its workflow (if still kept), within the byte bound. */
  private learn(workflow: string, traces: readonly Trace[]): void {
    const learner = this.learners.get(workflow);
    if (!learner) return;
    learner.completeSession(traces);
    this.account(learner);
  }

  /** Completes sessions that went idle or were marked ended. */
  completeDue(nowMs: number): CompletedSessionResult<T>[] {
    const done = this.pendingEvictions.splice(0);
    for (const [key, session] of this.open) {
      if (session.unconfirmedUntilMs !== null && session.tokens.size === 0) {
        // Read without a token and none redelivered yet: wait for the redeliveries, and past
        // the wait, none will come: its traces were all acknowledged, it is stored.
        if (nowMs < session.unconfirmedUntilMs) continue;
        this.removeOpen(key, session);
        done.push(this.complete(session, 'idle', true));
        continue;
      }
      const idle = nowMs - session.lastSeenMs >= this.config.sessionIdleMs;
      const ended = session.endSeenMs !== null && nowMs - session.endSeenMs >= this.config.endGraceMs;
      if (idle || ended) {
        this.removeOpen(key, session);
        done.push(this.complete(session, ended ? 'end_marker' : 'idle'));
      }
    }
    return done;
  }

  /**
   * Forgets what went idle by `nowMs`: workflow and agent names unseen for nameIdleMs (with
   * what was learned for them), request ids and stored sessions untouched for dedupeIdleMs.
   * The service calls it every pass (not completeDue(), which a flush calls with a far future).
   */
  expireIdle(nowMs: number): void {
    this.tick(nowMs);
    this.sweepIdle(nowMs);
    this.seenIds.sweep();
    this.storedSpans.sweep();
  }

  /** Rebuilds every workflow with new sessions since its last build. */
  rebuildDirty(nowUnixMs: number): RebuiltModel[] {
    const out: RebuiltModel[] = [];
    const rebuilt: WorkflowLearner[] = [];
    for (const learner of this.learners.values())
      if (learner.isDirty) {
        out.push(learner.rebuild(nowUnixMs));
        rebuilt.push(learner);
      }
    for (const learner of rebuilt) this.account(learner);
    return out;
  }

  /**
   * Relearns a stored session summary (restart, or a standby following the leader); no
   * acknowledgement involved. A summary already known (stored by this core) is skipped.
   */
  replay(summary: SessionSummary): void {
    const key = sessionKey(summary.workflow, summary.session);
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of summary.requests) {
      first = Math.min(first, r.startUnixMs);
      last = Math.max(last, r.endUnixMs);
    }
    if (this.isStored(key, first)) return;
    const atMs = Math.max(last, 0);
    this.tick(atMs);
    this.markStored(key, { startUnixMs: first, endUnixMs: last });
    const learner = this.learner(summary.workflow, atMs, summary.requests.length);
    for (const r of summary.requests) learner.observeAgent(r.agent, r.endUnixMs);
    this.learnReplayed(
      learner,
      summary.requests.map((r, i) => ({
        requestId: `${summary.session}#${i}`,
        exchange: '',
        workflow: summary.workflow,
        session: summary.session,
        agent: r.agent,
        model: '',
        pool: '',
        endpoint: '',
        promptTokens: r.promptTokens,
        cachedTokens: null,
        outputTokens: r.outputTokens,
        outputTokensReported: true,
        queueMs: 0,
        firstTokenMs: 0,
        totalMs: r.endUnixMs - r.startUnixMs,
        startUnixMs: r.startUnixMs,
        endUnixMs: r.endUnixMs,
        status: r.ok ? 'OK' : 'UPSTREAM_ERROR',
        httpStatus: r.ok ? 200 : 500,
        promptBytes: 0,
        sessionEnd: false,
        predictedAgent: '',
        predictedOutputTokens: 0,
        mode: '',
      })),
    );
  }

  private learnReplayed(learner: WorkflowLearner, traces: Trace[]): void {
    learner.completeSession(traces);
    this.account(learner);
  }

  /** Continues from a published model (version, mode) after a restart. */
  restore(model: WorkflowModel): void {
    this.tick(model.builtUnixMs);
    const learner = this.learner(model.workflow, model.builtUnixMs);
    learner.restore(model);
    this.account(learner);
  }

  /** Tokens of every trace still waiting for its session's store (for a graceful stop). */
  pendingTokens(): T[] {
    const out: T[] = [];
    for (const s of this.open.values()) out.push(...s.tokens.values());
    for (const w of this.awaiting.values()) out.push(...w.tokens.values());
    return out;
  }

  /** Call after restore() and replay() of everything stored. */
  finishRestore(): void {
    for (const l of this.learners.values()) l.finishRestore();
  }

  models(): WorkflowModel[] {
    const out: WorkflowModel[] = [];
    for (const l of this.learners.values()) if (l.model) out.push(l.model);
    return out;
  }
}
