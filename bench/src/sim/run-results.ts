// What a simulated run measures: per session its job completion time, per request its time
// to first token, tokens out, and at the end the engines', warming's and the learned
// models' figures gathered into one result.
import type { ReplicaFleet } from './replica-fleet.js';
import type { WarmTraffic } from './warm-traffic.js';

export interface ClusterRunResult {
  /** Events the ext-proc replicas sent each other (pythia.replica.v1), and their encoded bytes. */
  readonly replicaEvents?: number;
  readonly replicaEventBytes?: number;
  /** Requests each ext-proc replica (gateway core) was handed, in core order. */
  readonly requestsPerExtProc?: readonly number[];
  readonly jctS: number[];
  readonly ttftS: number[];
  /** Session of each JCT, same order (to leave warm-up sessions out). */
  readonly jctSessions: string[];
  readonly outputTokens: number;
  /** When each request ended (virtual ms) and its output tokens, in end order. */
  readonly outputTimeline: ReadonlyArray<readonly [endMs: number, tokens: number]>;
  readonly makespanS: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly preemptions: number;
  readonly gpuSeconds: number;
  readonly warmRequests: number;
  readonly warmHits: number;
  /** GPU time stepping, and the part the prefill chunks added over decoding alone. */
  readonly busyGpuSeconds: number;
  readonly prefillGpuSeconds: number;
  /** Prompt tokens loaded from the host KV tier (part of cachedTokens). */
  readonly hostTokens: number;
  /** Prompt tokens found in blocks a retention pin had kept for the session (part of cachedTokens). */
  readonly retainedTokens: number;
  /** Requests flow control answered 429 (0 with it off). */
  readonly shed: number;
  readonly held: number;
  readonly heldWaitS: number;
  /** Each held request's wait (s), in release order. */
  readonly heldWaitsS: readonly number[];
  /** Prompt tokens of the workload's requests (warm requests left out). */
  readonly requestPromptTokens: number;
  /** Cache-manager decisions by result (sent, or why skipped). */
  readonly warmOutcomes: Readonly<Record<string, number>>;
  readonly sessionsCompleted: number;
  readonly requests: number;
  /** Live scores of the learned models after promotion (null without learning). */
  readonly nextAgentAccuracy: number | null;
  readonly outputBoundCoverage: number | null;
  readonly promotedAtS: number | null;
  /** Each learned workflow's regex, by workflow name (with learning). */
  readonly learnedRegexes?: Readonly<Record<string, string>>;
  /** Replicas on (starting, ready or draining) per pool over time, when autoscaling. */
  readonly replicaTimeline: ReadonlyArray<ReplicaCount>;
}

export interface ReplicaCount {
  readonly t: number;
  readonly pool: string;
  readonly replicas: number;
}

/** The learned models' live scores, weighted by the sessions they scored. */
export interface LearningFigures {
  readonly nextAgentAccuracy: number | null;
  readonly outputBoundCoverage: number | null;
  readonly promotedAtS: number | null;
  /** Each learned workflow's regex, by workflow name (with learning). */
  readonly learnedRegexes?: Readonly<Record<string, string>>;
}

export class RunTally {
  readonly jctS: number[] = [];
  readonly jctSessions: string[] = [];
  readonly ttftS: number[] = [];
  outputTokens = 0;
  readonly outputTimeline: Array<readonly [number, number]> = [];
  requests = 0;
  /** Requests flow control answered 429 (past its bounds or TTL). */
  shed = 0;
  /** Requests flow control held before routing them. */
  held = 0;
  /** Seconds held requests waited, summed. */
  heldWaitS = 0;
  /** Each held request's wait (s), in release order. */
  readonly heldWaitsS: number[] = [];
  requestPromptTokens = 0;
  sessionsDone = 0;
  /** When the last request ended (virtual ms). */
  lastEndMs = 0;

  constructor(
    private readonly sessions: number,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {}

  /** Every session has completed: periodic work stops. */
  get finished(): boolean {
    return this.sessionsDone >= this.sessions;
  }

  /** A held request released after waiting `waitS`. */
  heldReleased(waitS: number): void {
    this.heldWaitS += waitS;
    this.heldWaitsS.push(waitS);
  }

  requestDone(endMs: number, outputTokens: number): void {
    this.outputTokens += outputTokens;
    this.outputTimeline.push([endMs, outputTokens]);
    this.lastEndMs = Math.max(this.lastEndMs, endMs);
  }

  sessionDone(session: string, jctS: number): void {
    this.jctS.push(jctS);
    this.jctSessions.push(session);
    this.sessionsDone++;
    this.onProgress?.(this.sessionsDone, this.sessions);
  }

  result(
    fleet: ReplicaFleet,
    autoscaled: boolean,
    warm: WarmTraffic,
    learning: LearningFigures,
    replicaTimeline: ReadonlyArray<ReplicaCount>,
  ): ClusterRunResult {
    return {
      jctS: this.jctS,
      jctSessions: this.jctSessions,
      ttftS: this.ttftS,
      outputTokens: this.outputTokens,
      outputTimeline: this.outputTimeline,
      makespanS: this.lastEndMs / 1000,
      promptTokens: fleet.total('promptTokensTotal'),
      cachedTokens: fleet.total('cachedTokensTotal'),
      preemptions: fleet.total('preemptionsTotal'),
      hostTokens: fleet.total('hostTokensTotal'),
      retainedTokens: fleet.total('retainedTokensTotal'),
      shed: this.shed,
      held: this.held,
      heldWaitS: this.heldWaitS,
      heldWaitsS: this.heldWaitsS,
      requestPromptTokens: this.requestPromptTokens,
      busyGpuSeconds: fleet.total('busyMsTotal') / 1000,
      prefillGpuSeconds: fleet.total('prefillMsTotal') / 1000,
      gpuSeconds: fleet.gpuSeconds(this.lastEndMs, autoscaled),
      replicaTimeline,
      warmRequests: warm.sent,
      warmHits: warm.hits,
      warmOutcomes: warm.outcomes,
      sessionsCompleted: this.sessionsDone,
      requests: this.requests,
      ...learning,
    };
  }
}
