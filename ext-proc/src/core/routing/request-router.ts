// Connects everything that decides: the live session tracker and learned models
// (predictions), the scheduler (lookahead placement for proactive workflows, the reactive
// profile for everything else), priority, the prefix index and session affinity, the cache
// manager, and the cluster's in-flight accounting. Its answer is a typed RouteDecision; the
// Envoy edge (core/envoy) alone turns it into headers, metadata and a body. Pure: the
// adapters supply time, the trace sink and the warm sender.
import type { Clock } from '../../../../core/src/clock.js';
import type { Prediction } from '../../../../core/src/workflow/predictor.js';
import type { RequestStart } from '../../../../core/src/wire/request-start.js';
import type { Trace } from '../../../../core/src/wire/trace.js';
import type { AgentPrompts } from './agent-prompts.js';
import type { ClusterState, RequestLoad } from '../../../../core/src/cluster/cluster-state.js';
import { sessionKey } from '../../../../core/src/workflow/identifiers.js';
import type { ModelRegistry } from '../../../../core/src/workflow/model-registry.js';
import { promptBlockHashes } from '../../../../core/src/prompt/prefix-hash.js';
import { AnsweredMarks, type OrderMark } from '../../../../core/src/prompt/order-mark.js';
import type { CompletedRequest } from './completed-request.js';
import type { PrefixIndex } from './prefix-index.js';
import {
  agedFrom,
  enginePriority,
  NEUTRAL_PRIORITY,
  type PrioritySettings,
  requestPriority,
  WARM_PRIORITY,
} from './priority.js';
import type { RequestRouter, RouteDecision } from './route-decision.js';
import { type RetentionSettings, retentionFor } from './retention.js';
import type { RouteInput } from './route-input.js';
import { endingRunning, followsStage } from './learned-order.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import {
  type Profile,
  requestFootprint,
  type SchedulingRequest,
  type SchedulingSettings,
} from '../scheduling/types.js';
import type { SessionAffinity } from './session-affinity.js';
import type { SessionHistory } from './session-history.js';
import type { SessionTracker } from './session-tracker.js';
import type { WarmOutcome, WarmPlan, WarmPlanner } from './warm-planner.js';
import type { Ranking } from '../flow-control/flow-controller.js';
import type { ReplicaSink } from './replica-view.js';
import type { TieBreak } from '../scheduling/tie-break.js';

/** Prompt tokens estimated from body bytes: no tokenizer on the hot path. */
export function estimatePromptTokens(bodyBytes: number): number {
  return Math.ceil(bodyBytes / 4);
}

/** Overflow probability assumed for a request without a prediction (its bound is a guess). */
const UNPREDICTED_OVERFLOW = 0.05;

/** Where workflow requests are reported (the NATS trace publisher, or a test list). */
export interface TraceSink {
  /** A completed request. */
  publish(trace: Trace): void;
  /** A request just routed (best effort; the autoscaler sees sessions before they complete). */
  started(start: RequestStart): void;
}

/** Names a pending role in a trace (the identity resolver's `traceAgent`). */
export interface PendingRoles {
  traceAgent(pendingRole: string): string;
}

/** Sends warm requests (HTTP adapter); must call `planner.done(endpoint)` when each ends. */
export interface WarmSender {
  send(plan: WarmPlan): void;
}

export interface LeverSwitches {
  readonly placement: boolean;
  readonly priority: boolean;
  readonly warming: boolean;
  readonly retention: boolean;
}

export interface RouterEvents {
  warm(outcome: WarmOutcome): void;
  /** A request of a session whose next agent had an endpoint reserved (hit: it landed there). */
  reservation(hit: boolean): void;
}

export interface RouterParts {
  readonly cluster: ClusterState;
  readonly scheduler: Scheduler;
  readonly proactiveProfile: Profile;
  readonly reactiveProfile: Profile;
  /** For workflow requests not proactive yet (placement on). */
  readonly shadowProfile: Profile;
  readonly sessions: SessionTracker;
  readonly affinity: SessionAffinity;
  readonly prefixIndex: PrefixIndex;
  readonly models: ModelRegistry;
  readonly prompts: AgentPrompts;
  readonly history: SessionHistory;
  readonly planner: WarmPlanner;
  readonly traces: TraceSink | null;
  readonly warmSender: WarmSender | null;
  readonly events: RouterEvents | null;
  /** The other ext-proc replicas (null: this replica decides alone). */
  readonly replicas: ReplicaSink | null;
  /** Relabels a request's `r-other` agent in its trace once its role is established (null: never). */
  readonly pendingRoles: PendingRoles | null;
  /** The scheduler's tie-break draws, seeded per request from its session. */
  readonly tieBreak: TieBreak;
  readonly clock: Clock;
  readonly levers: LeverSwitches;
  readonly priority: PrioritySettings;
  readonly retention: RetentionSettings;
  readonly scheduling: SchedulingSettings;
  /** Block size of the prefix hashes, in characters (UTF-16 code units). */
  readonly prefixBlockChars: number;
  /** The quantile the output bound stands for: 1 - it is the overflow probability. */
  readonly outputQuantile: number;
}

/** The start event the autoscaler reads (null without the workflow identifiers). */
export function startOf(input: RouteInput, pool: string, startUnixMs: number): RequestStart | null {
  if (!input.identity) return null;
  return {
    requestId: input.requestId,
    workflow: input.identity.workflow,
    session: input.identity.session,
    agent: input.identity.agent,
    pool,
    startUnixMs,
    exchange: input.exchange,
  };
}

/** The trace of a completed workflow request; `agent` overrides the identity's (a relabelled role). */
export function traceOf(record: CompletedRequest, agent?: string): Trace | null {
  if (!record.identity) return null;
  return {
    requestId: record.requestId,
    workflow: record.identity.workflow,
    session: record.identity.session,
    agent: agent ?? record.identity.agent,
    model: record.model,
    pool: record.pool,
    endpoint: record.endpoint,
    promptTokens: record.usage.promptTokens ?? estimatePromptTokens(record.promptBytes),
    cachedTokens: record.usage.cachedTokens,
    outputTokens: record.usage.outputTokens,
    outputTokensReported: record.usage.reported,
    queueMs: record.queueMs,
    firstTokenMs: record.firstTokenMs,
    totalMs: record.totalMs,
    startUnixMs: record.startUnixMs,
    endUnixMs: record.endUnixMs,
    status: record.status,
    httpStatus: record.httpStatus,
    promptBytes: record.promptBytes,
    sessionEnd: record.sessionEnd,
    predictedAgent: record.predictedAgent,
    predictedOutputTokens: record.predictedOutputTokens,
    mode: record.mode,
    exchange: record.exchange,
  };
}

/** A request between prepare() and commit() (flow control may hold it in between). */
export interface PreparedRoute {
  readonly input: RouteInput;
  readonly request: SchedulingRequest;
  readonly profile: Profile;
  readonly prediction: Prediction | null;
  readonly proactive: boolean;
  readonly gatesNextStage: boolean;
  /** The agent's system prompt when new to this replica (told to the others at commit). */
  readonly prompt: { model: string; system: string } | null;
  /** Seeds the tie-break at commit: flow control may prepare other requests in between. */
  readonly tieBreakKey: string | null;
  /** Its last conversation message, by which later requests prove it ended (stages). */
  readonly mark: OrderMark | null;
  /** Marks of the session's running requests its history proved ended (told to the others). */
  readonly settles: readonly OrderMark[];
}

/** Router-private facts carried from route() to complete(). */
interface RouteMemo {
  readonly load: RequestLoad;
  readonly prediction: Prediction | null;
  readonly proactive: boolean;
  /** The prompt's block hashes recorded in the prefix index (confirmed computed on completion). */
  readonly hashes: readonly number[];
  /** This replica's number for the request in its replica events (0: none was sent). */
  readonly flight: number;
  readonly mark: OrderMark | null;
}

export class WorkflowRouter implements RequestRouter {
  private readonly memos = new WeakMap<RouteDecision, RouteMemo>();
  /** Requests numbered for the replica events so far (one router per replica process). */
  private flights = 0;

  constructor(private readonly parts: RouterParts) {}

  route(input: RouteInput): RouteDecision {
    return this.commit(this.prepare(input), null);
  }

  /**
   * The first half of route(): the request's session stage starts and its prediction and
   * scheduling request are computed. Flow control holds a prepared request until it commits
   * it (or abandons it); route() does both at once.
   */
  prepare(input: RouteInput): PreparedRoute {
    const p = this.parts;
    const now = p.clock.now();
    const identity = input.identity;
    let prediction: Prediction | null = null;
    let gatesNextStage = false;
    let siblingsInFlight = 0;
    let prompt: { model: string; system: string } | null = null;
    let tieBreakKey: string | null = null;
    let mark: OrderMark | null = null;
    let settles: readonly OrderMark[] = [];
    const model = identity ? p.models.get(identity.workflow) : undefined;
    if (identity) {
      // Causal order: running requests this one's history answers have ended, even if their
      // end (another replica's event) was not seen yet. Hashed only when there are some.
      // Where it proves nothing, the learned workflow may (learned-order.ts).
      const order = new AnsweredMarks(input.llm.json);
      const live = model ? p.sessions.stages(identity) : undefined;
      const follows =
        model && live && followsStage(live, identity.agent, p.sessions.localRunning(identity), model, now);
      const stages = p.sessions.start(identity, now, follows ? endingRunning(order) : order, true);
      mark = order.mark;
      settles = order.proved;
      const roles = stages.roles();
      prediction = model?.predict(roles, identity.agent) ?? null;
      gatesNextStage = stages.running === 1;
      siblingsInFlight = stages.running - 1;
      if (p.levers.warming)
        prompt = p.prompts.observe(identity.workflow, identity.agent, input.llm.model, input.llm.json);
      // Seeded by the session's state, not this process: every replica breaks ties alike.
      tieBreakKey = `${identity.workflow}\u0000${identity.session}\u0000${identity.agent}\u0000${roles.length}\u0000${stages.currentWidth}`;
    }
    const proactive = prediction?.mode === 'proactive' && prediction.known;
    // Placement off: everything reactive. On: proactive workflows get the lookahead profile,
    // other workflow requests (shadow, no model yet) the shadow profile, plain traffic the
    // reactive one.
    const profile = !p.levers.placement
      ? p.reactiveProfile
      : proactive
        ? p.proactiveProfile
        : identity
          ? p.shadowProfile
          : p.reactiveProfile;
    const hashes = profile.needs.prefixHashes ? promptBlockHashes(input.llm.json, p.prefixBlockChars) : [];
    const bound = proactive && prediction ? prediction.outputBound : null;
    const agentStats = proactive && identity ? model?.agent(identity.agent) : undefined;
    const request: SchedulingRequest = {
      model: input.llm.model,
      identity,
      promptTokens: estimatePromptTokens(input.llm.bodyBytes),
      maxTokens: input.llm.maxTokens,
      prefixHashes: hashes,
      outputBound: bound,
      outputExpected: agentStats ? agentStats.outputP50 : null,
      overflow: bound === null ? UNPREDICTED_OVERFLOW : 1 - p.outputQuantile,
      siblingsInFlight,
    };
    return {
      input,
      request,
      profile,
      prediction,
      proactive,
      gatesNextStage,
      prompt,
      tieBreakKey,
      mark,
      settles,
    };
  }

  /** The endpoints the request's profile keeps, scored, best first (nothing changes). */
  rank(prepared: PreparedRoute): Ranking {
    this.parts.tieBreak.seed(prepared.tieBreakKey);
    return this.parts.scheduler.rank(prepared.request, prepared.profile);
  }

  /** Urgency of a prepared request in [0, 1] (1: most), as its priority would say; 0 without a prediction. */
  urgency(prepared: PreparedRoute): number {
    const { prediction, proactive, gatesNextStage } = prepared;
    if (!proactive || !prediction) return 0;
    return 1 - requestPriority(prediction, gatesNextStage, this.parts.priority) / 100;
  }

  /** A prepared request that will never be routed (shed or cancelled while held). */
  abandon(prepared: PreparedRoute): void {
    const identity = prepared.input.identity;
    if (identity) this.parts.sessions.end(identity, this.parts.clock.now(), prepared.mark, true);
  }

  /** The second half of route(): places the request (among `only` when given) and records it. */
  commit(prepared: PreparedRoute, only: ReadonlySet<string> | null): RouteDecision {
    const p = this.parts;
    const now = p.clock.now();
    const { input, request, profile, prediction, proactive, gatesNextStage, prompt } = prepared;
    const identity = input.identity;
    const hashes = request.prefixHashes;
    p.tieBreak.seed(prepared.tieBreakKey);
    const reservation = identity ? p.affinity.reservation(identity.workflow, identity.session, now) : null;
    const placement = p.scheduler.decide(request, profile, only);
    if (reservation && identity && reservation.agent === identity.agent) {
      p.events?.reservation(reservation.endpoint === placement.endpoint);
    }
    const load: RequestLoad = {
      reservedTokens: requestFootprint(request, p.scheduling),
      overflow: request.overflow,
      decodeTokens: request.outputExpected ?? request.maxTokens ?? p.scheduling.defaultOutputTokens,
      ...(identity ? { session: sessionKey(identity.workflow, identity.session) } : {}),
    };
    p.cluster.acquire(placement.endpoint, load);
    if (hashes.length > 0) p.prefixIndex.record(hashes, placement.endpoint, now);
    // The other replicas match the request's end to its start by this number, not by the
    // client's x-request-id (which a client may reuse on concurrent requests).
    const flight = identity && p.replicas ? ++this.flights : 0;
    if (identity) {
      p.affinity.placed(identity.workflow, identity.session, placement.endpoint, now);
      p.replicas?.emit({
        kind: 'start',
        flight,
        identity,
        endpoint: placement.endpoint,
        reservedTokens: load.reservedTokens,
        overflow: load.overflow,
        decodeTokens: load.decodeTokens,
        prefixHashes: hashes,
        prompt,
        order: prepared.mark,
        settles: prepared.settles,
      });
    }

    const start = p.traces ? startOf(input, placement.pool, p.clock.wallNow()) : null;
    if (start) p.traces?.started(start);
    const priority =
      proactive && prediction && p.levers.priority
        ? requestPriority(prediction, gatesNextStage, p.priority)
        : null;
    const priorityField = p.cluster.pool(placement.pool)?.priorityField ?? false;
    const decision: RouteDecision = {
      pool: placement.pool,
      endpoint: placement.endpoint,
      fallbacks: placement.fallbacks,
      profile: placement.profile,
      priority,
      // vLLM treats a missing priority as 0 (most urgent): give other traffic a neutral one.
      enginePriority: priorityField
        ? enginePriority(priority ?? NEUTRAL_PRIORITY, this.agedFrom(identity, now), p.priority.agingBoundMs)
        : null,
      prediction,
      // Only to pools whose servers take the hint (`session_control_field`).
      retention:
        identity && p.levers.retention && (p.cluster.pool(placement.pool)?.sessionControlField ?? false)
          ? retentionFor(
              {
                session: identity.session,
                sessionEnd: input.sessionEnd,
                prediction,
                proactive,
                agent: proactive ? p.models.get(identity.workflow)?.agent(identity.agent) : undefined,
                siblingsInFlight: request.siblingsInFlight,
              },
              p.retention,
            )
          : null,
    };
    this.memos.set(decision, { load, prediction, proactive, hashes, flight, mark: prepared.mark });
    return decision;
  }

  /** Wall-clock instant a request arriving now is aged from (its session's start, capped). */
  private agedFrom(identity: RouteInput['identity'], nowMs: number): number {
    const p = this.parts;
    const wallNow = p.clock.wallNow();
    const first = identity ? p.sessions.firstStart(identity) : null;
    return agedFrom(wallNow, first === null ? null : wallNow - (nowMs - first), p.priority.sessionAgeCapMs);
  }

  complete(decision: RouteDecision, input: RouteInput, outcome: CompletedRequest): void {
    const p = this.parts;
    const memo = this.memos.get(decision);
    p.cluster.release(decision.endpoint, memo?.load);
    // A request that ran to its end computed its prompt there: parallel siblings may hit it now.
    if (memo && memo.hashes.length > 0 && outcome.status === 'OK')
      p.prefixIndex.confirm(memo.hashes, decision.endpoint, p.clock.now());
    const identity = input.identity;
    if (identity) {
      const now = p.clock.now();
      p.sessions.end(identity, now, memo?.mark ?? null, true);
      let recorded = false;
      if (input.sessionEnd) {
        p.sessions.forget(identity);
        p.history.drop(identity.workflow, identity.session);
      } else if (p.levers.warming && outcome.status === 'OK') {
        p.history.record(
          identity.workflow,
          identity.session,
          input.llm.model,
          input.llm.json,
          outcome.usage.outputText,
        );
        recorded = true;
      }
      // Told before any warm below, in the order a single replica applies them.
      if (p.replicas) {
        const history = recorded ? p.history.get(identity.workflow, identity.session) : undefined;
        p.replicas.emit({
          kind: 'end',
          flight: memo?.flight ?? 0,
          identity,
          sessionEnd: input.sessionEnd,
          history: history ?? (recorded ? { model: input.llm.model, messages: [] } : null),
        });
      }
      if (recorded && memo?.proactive) this.maybeWarm(identity, memo.prediction, now);
    }
    if (!p.traces) return;
    // Only the trace is relabelled: the session tracker, the replica events and the start
    // event saw `r-other` and keep it, so the session's stages stay consistent.
    const pending = input.pendingRole;
    const trace = traceOf(
      outcome,
      pending && p.pendingRoles ? p.pendingRoles.traceAgent(pending) : undefined,
    );
    if (trace) p.traces.publish(trace);
  }

  /** Warms the next agent when this request was the last of its stage to finish. */
  private maybeWarm(
    identity: NonNullable<RouteInput['identity']>,
    prediction: Prediction | null,
    now: number,
  ): void {
    const p = this.parts;
    const next = prediction?.nextAgents[0];
    if (!next || p.sessions.running(identity) > 0) return;
    const model = p.models.get(identity.workflow);
    p.tieBreak.seed(`${identity.workflow}\u0000${identity.session}\u0000warm\u0000${next.role}`);
    const outcome = p.planner.plan(
      identity,
      { agent: next.role, probability: next.probability },
      model?.agent(next.role)?.outputBound ?? null,
      (request) => {
        try {
          return p.scheduler.decide(request, p.proactiveProfile);
        } catch {
          return null;
        }
      },
      now,
      p.history.get(identity.workflow, identity.session) ?? null,
    );
    p.events?.warm(outcome);
    if (outcome.reserved)
      p.replicas?.emit({
        kind: 'reserve',
        identity: { ...identity, agent: next.role },
        endpoint: outcome.reserved.endpoint,
        forMs: outcome.reserved.untilMs - now,
        warmHashes: outcome.kind === 'warm' ? outcome.hashes : [],
      });
    if (outcome.kind === 'warm') {
      // On a priority-scheduling pool a warm must say it is the least urgent: vLLM reads a
      // missing priority as 0, which would put speculation ahead of every real request.
      const priorityField = p.cluster.pool(outcome.plan.pool)?.priorityField ?? false;
      const priority = enginePriority(WARM_PRIORITY, p.clock.wallNow(), p.priority.agingBoundMs);
      p.warmSender?.send(priorityField ? { ...outcome.plan, priority } : outcome.plan);
    }
  }
}
