// Plays session plans against the gateway core, as clients behind Envoy would: each stage's
// requests go out together, are routed by the real router (router.route), run on the
// chosen replica's engine at the priority the router set, and complete through the router
// (router.complete, which publishes the trace ext-proc would); the next stage follows its
// tool time after the slowest request, with the session's history in its prompts.
import type { Clock } from '../../../core/src/clock.js';
import { NEUTRAL_PRIORITY } from '../../../ext-proc/src/core/routing/priority.js';
import { RequestLifecycle } from '../../../ext-proc/src/core/routing/request-lifecycle.js';
import type { RouteDecision } from '../../../ext-proc/src/core/routing/route-decision.js';
import type { RouteInput } from '../../../ext-proc/src/core/routing/route-input.js';
import type { FlowAdmission } from '../../../ext-proc/src/core/flow-control/flow-controller.js';
import {
  SessionHistory,
  type SessionPlan,
  type StepPlan,
  stagesOf,
} from '../../../test-support/src/workloads/session-plan.js';
import type { RetentionHint } from './engine.js';
import type { OracleGate } from './oracle-gate.js';
import type { EventQueue } from './event-queue.js';
import type { RoundRobinGateways } from './ext-proc-replicas.js';
import type { Replica, ReplicaFleet } from './replica-fleet.js';
import type { RunTally } from './run-results.js';
import { type IdentityMode, clientHeaders, instructions, messagesOf } from './client-identity.js';
import { type Run, blockHashes, runText } from './token-streams.js';

/** Unix time of virtual time 0, for the records' wall-clock stamps. */
export const EPOCH_MS = 1_790_000_000_000;

/** What a retention policy knows of a request when it is sent (see SessionDriver's `retention`). */
export interface RetentionQuery {
  readonly session: string;
  readonly agent: string;
  readonly thread: string | null;
  /** No later step of the session reads this step's context (its session or thread ends). */
  readonly lastOfContext: boolean;
  readonly decision: RouteDecision;
}

/**
 * The session KV-retention hint each request carries (as SGLang sessions / Dynamo's
 * `nvext.session_control` or Continuum's TTL let a client or router set it); null: none, and
 * the engine behaves exactly as without retention.
 */
export type RetentionPolicy = (query: RetentionQuery) => RetentionHint | null;

/** One step of a session about to be sent. */
interface StepRequest {
  readonly plan: SessionPlan;
  readonly step: StepPlan;
  /** `<session>:<stage>.<index>`: names the step's new prompt text and its output. */
  readonly stepId: string;
  /** The session's earlier prompts and outputs, as each step may read them. */
  readonly history: SessionHistory<Run>;
  /** The session's last stage (its requests carry the end marker). */
  readonly last: boolean;
  /** No later step of the session reads this step's context. */
  readonly lastOfContext: boolean;
  /** Output tokens of this stage's and every later stage's steps (what the oracle orders by). */
  readonly remainingWork: number;
}

export class SessionDriver {
  private requestSeq = 0;
  /** The virtual clock, as ext-proc's clock reads real time. */
  private readonly clock: Clock = {
    now: () => this.queue.now,
    wallNow: () => EPOCH_MS + this.queue.now,
  };

  constructor(
    private readonly queue: EventQueue,
    /** The ext-proc each request reaches (one, or several fed round-robin). */
    private readonly gateways: RoundRobinGateways,
    private readonly fleet: ReplicaFleet,
    private readonly tally: RunTally,
    private readonly retention: RetentionPolicy | null = null,
    /**
     * What the requests send to identify themselves (resolved by the gateway each reaches);
     * absent: the identity is passed as the headers would give it.
     */
    private readonly identity: IdentityMode | null = null,
    /** The oracle bound: requests go through this gateway queue instead of the router. */
    private readonly oracle: OracleGate | null = null,
  ) {}

  /** Starts every plan at its arrival time. */
  schedule(plans: readonly SessionPlan[]): void {
    for (const plan of plans) this.queue.schedule(plan.arrivalS * 1000, () => this.start(plan));
  }

  private start(plan: SessionPlan): void {
    const arrival = this.queue.now;
    const stages = stagesOf(plan);
    const history = new SessionHistory<Run>();
    const runStage = (index: number) => {
      const steps = stages[index] as StepPlan[];
      let remaining = steps.length;
      let maxAfter = 0;
      const finishedRuns: Run[][] = [];
      const later = stages.slice(index + 1).flat();
      const remainingWork = [...steps, ...later].reduce((a, s) => a + s.outputTokens, 0);
      const stageDone = () => {
        steps.forEach((s, k) => {
          const runs = finishedRuns[k];
          if (runs) history.record(s, runs[0] as Run, runs[1] as Run);
        });
        if (index + 1 < stages.length)
          this.queue.schedule(this.queue.now + maxAfter * 1000, () => runStage(index + 1));
        else this.tally.sessionDone(plan.session, (this.queue.now - arrival) / 1000);
      };
      steps.forEach((step, k) => {
        const stepId = `${plan.session}:${index}.${k}`;
        const last = index === stages.length - 1;
        const lastOfContext =
          step.thread === undefined
            ? !later.some((s) => s.history)
            : !later.some((s) => s.thread === step.thread);
        const request = { plan, step, stepId, history, last, lastOfContext, remainingWork };
        const sent = this.send(request, (runs) => {
          // Null: flow control shed it after holding it; its stage goes on without it.
          if (runs) {
            finishedRuns[k] = runs;
            maxAfter = Math.max(maxAfter, step.afterS);
          }
          remaining--;
          if (remaining === 0) stageDone();
        });
        // A request the router refused (no endpoint) is dropped; its stage goes on without it.
        if (!sent) remaining--;
      });
      if (remaining === 0) stageDone();
    };
    runStage(0);
  }

  /**
   * Routes one request as ext-proc would, runs it on the chosen replica and completes it
   * through the router; `done` gets the prompt text and output it adds to the history.
   * False when the router refused it.
   */
  private send(r: StepRequest, done: (runs: Run[] | null) => void): boolean {
    const { plan, step, stepId, last } = r;
    const prefix: Run = { key: step.prefix, tokens: step.prefixTokens };
    const fresh: Run = { key: `${stepId}:new`, tokens: step.newTokens };
    const promptRuns = [prefix, ...r.history.context(step), fresh];
    const promptTokens = promptRuns.reduce((a, run) => a + run.tokens, 0);
    const output: Run = { key: `${stepId}:out`, tokens: step.outputTokens };
    if (this.oracle)
      return this.sendToOracle(r, promptRuns, promptTokens, output, () => done([fresh, output]));
    const json = {
      model: step.model ?? plan.model ?? 'llama',
      messages: [
        { role: 'system', content: instructions(runText(prefix), plan) },
        ...messagesOf(promptRuns.slice(1)),
      ],
    };
    // The ext-proc replica this request reaches (Envoy's round-robin) identifies it.
    const gateway = this.gateways.pick();
    const resolved = this.identity
      ? gateway.identity.resolve({
          headers: clientHeaders(this.identity, plan, step),
          path: '/v1/chat/completions',
          json,
        })
      : null;
    const input: RouteInput = {
      llm: {
        api: 'chat',
        model: json.model,
        stream: true,
        maxTokens: null,
        bodyBytes: promptTokens * 4,
        json,
      },
      identity: resolved
        ? resolved.identity
        : { workflow: plan.workflow, session: plan.session, agent: step.agent },
      requestId: `r${this.requestSeq}`,
      exchange: `r${this.requestSeq++}`, // read after requestId: the same number
      sessionEnd: last,
      ...(resolved?.pendingRole ? { pendingRole: resolved.pendingRole } : {}),
    };
    const started = this.queue.now;
    // The same request record as ext-proc's stream processor keeps, on the virtual clock.
    // Flow control (the gateway's, when on) may hold the request, or shed it.
    const lifecycle = new RequestLifecycle(gateway.router, this.clock, gateway.gate);
    lifecycle.start();
    let admission: FlowAdmission;
    try {
      admission = lifecycle.admit(input, null, (outcome) => {
        if (outcome.kind === 'routed')
          this.run(r, input, promptRuns, outcome.decision, lifecycle, started, done);
        else {
          this.tally.shed++;
          done(null);
        }
      });
    } catch {
      return false;
    }
    if (admission.kind === 'shed') {
      this.tally.shed++;
      return false;
    }
    if (admission.kind === 'routed')
      this.run(r, input, promptRuns, admission.decision, lifecycle, started, done);
    return true;
  }

  /** Runs a routed request on its replica and completes it through the lifecycle. */
  private run(
    r: StepRequest,
    input: RouteInput,
    promptRuns: Run[],
    decision: RouteDecision,
    lifecycle: RequestLifecycle,
    started: number,
    done: (runs: Run[] | null) => void,
  ): void {
    const { plan, step, stepId } = r;
    const promptTokens = promptRuns.reduce((a, run) => a + run.tokens, 0);
    const fresh = promptRuns[promptRuns.length - 1] as Run;
    const output: Run = { key: `${stepId}:out`, tokens: step.outputTokens };
    const replica = this.fleet.get(decision.endpoint) as Replica;
    // What ext-proc writes into the body (aged), as a priority-scheduling vLLM reads it.
    const priority = decision.enginePriority ?? decision.priority ?? NEUTRAL_PRIORITY;
    const blockSize = replica.engine.profile.blockSize;
    this.tally.requests++;
    this.tally.requestPromptTokens += promptTokens;
    // A fixed retention policy of the run (every policy alike) if any, else the hint the
    // router wrote into the body (nvext.session_control), as the engine would read it.
    const hint =
      (this.retention
        ? this.retention({
            session: plan.session,
            agent: step.agent,
            thread: step.thread ?? null,
            lastOfContext: r.lastOfContext,
            decision,
          })
        : decision.retention) ?? null;
    this.fleet.submit(
      replica,
      {
        id: input.requestId,
        promptBlocks: blockHashes(promptRuns, blockSize),
        fullBlocks: blockHashes([...promptRuns, output], blockSize),
        promptTokens,
        outputTokens: step.outputTokens,
        priority,
        arrivalMs: this.queue.now,
        ...(hint ? { retention: hint } : {}),
      },
      {
        onFirst: (ms) => {
          // A streaming server answers 200 with its first token.
          lifecycle.responseStarted(200);
          lifecycle.responseBytes();
          this.tally.ttftS.push((ms - started) / 1000);
        },
        onDone: (ms, cached) => {
          this.tally.requestDone(ms, step.outputTokens);
          // Publishes the trace ext-proc would (to the profiler and the autoscaler).
          lifecycle.end({
            outputTokens: step.outputTokens,
            reported: true,
            promptTokens,
            cachedTokens: cached,
            outputText: runText(output),
          });
          done([fresh, output]);
        },
      },
    );
  }

  /** The oracle bound: held in its gateway queue, no router, priority = remaining session work. */
  private sendToOracle(
    r: StepRequest,
    promptRuns: readonly Run[],
    promptTokens: number,
    output: Run,
    done: () => void,
  ): boolean {
    const oracle = this.oracle as OracleGate;
    const pool = r.step.model ?? r.plan.model ?? 'llama';
    const id = `r${this.requestSeq++}`;
    const started = this.queue.now;
    this.tally.requests++;
    this.tally.requestPromptTokens += promptTokens;
    const blockSize = this.fleet.ofPool(pool)[0]?.engine.profile.blockSize ?? 16;
    const promptBlocks = blockHashes(promptRuns, blockSize);
    oracle.submit({
      pool,
      remainingWork: r.remainingWork,
      promptBlocks,
      promptTokens,
      outputTokens: r.step.outputTokens,
      dispatch: (replica) =>
        this.fleet.submit(
          replica,
          {
            id,
            promptBlocks,
            fullBlocks: blockHashes([...promptRuns, output], blockSize),
            promptTokens,
            outputTokens: r.step.outputTokens,
            priority: r.remainingWork,
            arrivalMs: this.queue.now,
          },
          {
            onFirst: (ms) => this.tally.ttftS.push((ms - started) / 1000),
            onDone: (ms) => {
              this.tally.requestDone(ms, r.step.outputTokens);
              done();
            },
          },
        ),
    });
    return true;
  }
}
