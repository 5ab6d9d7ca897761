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
import { CompetingNames } from '../../../core/src/bounded/competing-names.js';
import { TwoGenerationCache } from '../../../core/src/bounded/two-generation-cache.js';
import { parseIdentity } from '../../../core/src/workflow/identifiers.js';
import type { ModeDecision } from './promotion.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import { type LearnerConfig, WorkflowLearner } from './workflow-learner.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';

export interface ProfilerCoreConfig extends LearnerConfig {
  readonly sessionIdleMs: number;
  /** After an explicit end marker, wait this long for parallel siblings still reporting. */
  readonly endGraceMs: number;
  /** Workflow names kept; beyond, names compete by evidence and recency (LearnerConfig.nameHalfLifeMs). */
  readonly maxWorkflows: number;
  readonly maxOpenSessions: number;
  readonly maxRequestsPerSession: number;
  readonly dedupeCapacity: number;
  readonly maxIdentifierLength: number;
}

export type RejectReason = 'invalid_identifier' | 'duplicate' | 'session_too_long';

interface OpenSession<T> {
  readonly workflow: string;
  readonly session: string;
  readonly traces: Trace[];
  readonly tokens: Map<string, T>;
  lastSeenMs: number;
  endSeenMs: number | null;
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

export interface ProfilerCoreOptions {
  /**
   * Learn a completed session only once the caller reports it durably stored (stored()).
   * Without it (offline builds, the simulator) a session is learned as it completes.
   */
  readonly learnOnStore?: boolean;
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
}

/**
 * A completed session's identity: workflow, session id and the start of its first request,
 * so the same session assembled again (after a crash, from redelivered traces) gets the same
 * name, and a later run under a reused session id (after an idle gap) a new one.
 */
export function sessionIdentity(workflow: string, session: string, firstStartUnixMs: number): string {
  return `${workflow}\u0000${session}\u0000${firstStartUnixMs}`;
}

function sessionKey(workflow: string, session: string): string {
  return `${workflow}\u0000${session}`;
}

export interface RebuiltModel {
  readonly model: WorkflowModel;
  readonly decision: ModeDecision;
  readonly modeChanged: boolean;
}

export class ProfilerCore<T> {
  private readonly learners: CompetingNames<WorkflowLearner>;
  private readonly open = new Map<string, OpenSession<T>>();
  private readonly seenIds: TwoGenerationCache<string, true>;
  private readonly pendingEvictions: CompletedSessionResult<T>[] = [];
  /** Stored sessions by session key (workflow, session): their spans, most recent last. */
  private readonly storedSpans: TwoGenerationCache<string, StoredSpan[]>;
  private readonly awaiting = new Map<string, AwaitingStore<T>>();
  /** Request ids of the sessions awaiting their store -> their identity. */
  private readonly awaitingByRequest = new Map<string, string>();
  private readonly learnOnStore: boolean;
  private readonly redeliveryWaitMs: number | null;
  readonly rejected = new Map<RejectReason, number>();

  constructor(
    private readonly config: ProfilerCoreConfig,
    options: ProfilerCoreOptions = {},
  ) {
    this.seenIds = new TwoGenerationCache(config.dedupeCapacity);
    this.storedSpans = new TwoGenerationCache(config.dedupeCapacity);
    this.learnOnStore = options.learnOnStore === true;
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

  private reject(reason: RejectReason): { accepted: false; reason: RejectReason } {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    return { accepted: false, reason };
  }

  /** Records sightings of a workflow name; a new one takes the place of the weakest. */
  private learner(workflow: string, nowMs: number, evidence = 1): WorkflowLearner {
    return this.learners.observe(workflow, nowMs, () => new WorkflowLearner(workflow, this.config), evidence)
      .value;
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
    const identity = parseIdentity(trace, this.config.maxIdentifierLength);
    if (identity.kind !== 'workflow' || trace.requestId === '') return this.reject('invalid_identifier');
    const key = sessionKey(trace.workflow, trace.session);
    const open = this.open.get(key);
    if (this.seenIds.has(trace.requestId)) {
      // A redelivery (or a trace first read by a replay, without a token). While its session is
      // open or waiting for its store, the newest token is kept for the acknowledgement;
      // otherwise its session is stored (or it was rejected) and it is acknowledged at once.
      // Such a held redelivery counts as accepted: it is acknowledged with its session.
      if (token !== null) {
        const waiting = this.awaiting.get(this.awaitingByRequest.get(trace.requestId) ?? '');
        if (waiting) {
          waiting.tokens.set(trace.requestId, token);
          return { accepted: true };
        }
        if (open?.traces.some((t) => t.requestId === trace.requestId)) {
          open.tokens.set(trace.requestId, token);
          return { accepted: true };
        }
      }
      return this.reject('duplicate');
    }
    if (open && open.traces.length >= this.config.maxRequestsPerSession)
      return this.reject('session_too_long');

    this.seenIds.set(trace.requestId, true);
    this.learner(trace.workflow, nowMs).observeAgent(trace.agent, nowMs);
    let session = open;
    if (session) {
      this.open.delete(key); // re-insert: the Map's order is the LRU order
    } else {
      if (this.open.size >= this.config.maxOpenSessions) this.evictOldest();
      session = {
        workflow: trace.workflow,
        session: trace.session,
        traces: [],
        tokens: new Map(),
        lastSeenMs: nowMs,
        endSeenMs: null,
        unconfirmedUntilMs:
          token === null && this.redeliveryWaitMs !== null ? nowMs + this.redeliveryWaitMs : null,
      };
    }
    session.traces.push(trace);
    if (token !== null) session.tokens.set(trace.requestId, token);
    session.lastSeenMs = nowMs;
    if (trace.sessionEnd && session.endSeenMs === null) session.endSeenMs = nowMs;
    this.open.set(key, session);
    return { accepted: true };
  }

  private evictOldest(): void {
    const [key, session] = this.open.entries().next().value ?? [];
    if (key === undefined || !session) return;
    this.open.delete(key);
    this.pendingEvictions.push(this.complete(session, 'evicted'));
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
      this.learners.get(session.workflow)?.completeSession(session.traces);
      return result;
    }
    const waiting = this.awaiting.get(result.id);
    if (waiting) {
      // The same session completed again before its store (an eviction raced a replay): one record.
      for (const t of session.traces) {
        if (waiting.traces.some((w) => w.requestId === t.requestId)) continue;
        (waiting.traces as Trace[]).push(t);
        this.awaitingByRequest.set(t.requestId, result.id);
      }
      for (const [id, token] of session.tokens) waiting.tokens.set(id, token);
      return { ...result, duplicate: true, acks: [] };
    }
    this.awaiting.set(result.id, { key, result, traces: session.traces, tokens: new Map(session.tokens) });
    for (const t of session.traces) this.awaitingByRequest.set(t.requestId, result.id);
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
    for (const t of waiting.traces) this.awaitingByRequest.delete(t.requestId);
    const requests = waiting.result.summary.requests;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of requests) last = Math.max(last, r.endUnixMs);
    const first = Math.min(...requests.map((r) => r.startUnixMs));
    // A duplicate is another replica's record: learned when replay() reads it.
    if (!duplicate && !this.isStored(waiting.key, first)) {
      this.learners.get(waiting.result.summary.workflow)?.completeSession(waiting.traces);
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

  /** Completes sessions that went idle or were marked ended. */
  completeDue(nowMs: number): CompletedSessionResult<T>[] {
    const done = this.pendingEvictions.splice(0);
    for (const [key, session] of this.open) {
      if (session.unconfirmedUntilMs !== null && session.tokens.size === 0) {
        // Read without a token and none redelivered yet: wait for the redeliveries, and past
        // the wait, none will come: its traces were all acknowledged, it is stored.
        if (nowMs < session.unconfirmedUntilMs) continue;
        this.open.delete(key);
        done.push(this.complete(session, 'idle', true));
        continue;
      }
      const idle = nowMs - session.lastSeenMs >= this.config.sessionIdleMs;
      const ended = session.endSeenMs !== null && nowMs - session.endSeenMs >= this.config.endGraceMs;
      if (idle || ended) {
        this.open.delete(key);
        done.push(this.complete(session, ended ? 'end_marker' : 'idle'));
      }
    }
    return done;
  }

  /** Rebuilds every workflow with new sessions since its last build. */
  rebuildDirty(nowUnixMs: number): RebuiltModel[] {
    const out: RebuiltModel[] = [];
    for (const learner of this.learners.values()) if (learner.isDirty) out.push(learner.rebuild(nowUnixMs));
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
    this.markStored(key, { startUnixMs: first, endUnixMs: last });
    const atMs = Math.max(last, 0);
    const learner = this.learner(summary.workflow, atMs, summary.requests.length);
    for (const r of summary.requests) learner.observeAgent(r.agent, r.endUnixMs);
    learner.completeSession(
      summary.requests.map((r, i) => ({
        requestId: `${summary.session}#${i}`,
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

  /** Continues from a published model (version, mode) after a restart. */
  restore(model: WorkflowModel): void {
    this.learner(model.workflow, model.builtUnixMs).restore(model);
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
