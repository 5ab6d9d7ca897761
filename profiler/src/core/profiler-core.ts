// The profiler's whole state machine, pure and bounded: traces in (each with an opaque
// acknowledgement token), sessions completed on idle or end marker, models rebuilt, and the
// tokens to acknowledge once a session's learning is durable. At-least-once delivery is
// made idempotent by request id.

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
}

export interface CompletedSessionResult<T> {
  readonly summary: SessionSummary;
  /** Acknowledge these once the summary is stored. */
  readonly acks: readonly T[];
  readonly reason: 'idle' | 'end_marker' | 'evicted';
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
  readonly rejected = new Map<RejectReason, number>();

  constructor(private readonly config: ProfilerCoreConfig) {
    this.seenIds = new TwoGenerationCache(config.dedupeCapacity);
    this.learners = new CompetingNames(config.maxWorkflows, config.nameHalfLifeMs);
  }

  get openSessions(): number {
    return this.open.size;
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
    token: T,
    nowMs: number,
  ): { accepted: true } | { accepted: false; reason: RejectReason } {
    const identity = parseIdentity(trace, this.config.maxIdentifierLength);
    if (identity.kind !== 'workflow' || trace.requestId === '') return this.reject('invalid_identifier');
    const key = `${trace.workflow}\u0000${trace.session}`;
    const open = this.open.get(key);
    if (this.seenIds.has(trace.requestId)) {
      // A redelivery. If its session is still open, keep the newest token for the final ack.
      if (open?.tokens.has(trace.requestId)) open.tokens.set(trace.requestId, token);
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
      };
    }
    session.traces.push(trace);
    session.tokens.set(trace.requestId, token);
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

  private complete(
    session: OpenSession<T>,
    reason: CompletedSessionResult<T>['reason'],
  ): CompletedSessionResult<T> {
    this.learners.get(session.workflow)?.completeSession(session.traces);
    return {
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
  }

  /** Completes sessions that went idle or were marked ended. */
  completeDue(nowMs: number): CompletedSessionResult<T>[] {
    const done = this.pendingEvictions.splice(0);
    for (const [key, session] of this.open) {
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

  /** Relearns a stored session summary (restart); no acknowledgement involved. */
  replay(summary: SessionSummary): void {
    const atMs = summary.requests.reduce((m, r) => Math.max(m, r.endUnixMs), 0);
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

  /** Tokens of every trace still waiting for its session to complete (for a graceful stop). */
  pendingTokens(): T[] {
    const out: T[] = [];
    for (const s of this.open.values()) out.push(...s.tokens.values());
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
