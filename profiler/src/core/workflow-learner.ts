// Everything the profiler keeps for one workflow type, all bounded: recent completed
// session shapes (the training set), per-agent samples, live score windows, and the model
// in force. Sessions are scored against the model in force when they complete, i.e. on
// data the model was not built from.
import { CompetingNames } from '../../../core/src/bounded/competing-names.js';
import { stringBytes } from '../../../core/src/bounded/memory-cost.js';
import { buildAutomaton, type SessionShape } from '../../../core/src/workflow/automaton.js';
import { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { decideMode, type ModeDecision, type PromotionConfig, ScoreWindow } from './promotion.js';
import { RecentValues } from '../../../core/src/workflow/quantiles.js';
import { deriveStructure, renderRegex } from '../../../core/src/workflow/regex.js';
import { segmentStages } from '../../../core/src/workflow/stages.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import {
  type AgentStats,
  END_ROLE,
  type WorkflowMode,
  type WorkflowModel,
} from '../../../core/src/workflow/workflow-model.js';

export interface LearnerConfig {
  readonly rareTransitionThreshold: number;
  /** Quantile used as the output-length prediction (0.99 by default). */
  readonly outputQuantile: number;
  readonly maxSessionsKept: number;
  /** Byte bound of the kept sessions (overhead included), per workflow. */
  readonly sessionsKeptBytes: number;
  readonly sampleCapacity: number;
  /** Agent names kept per workflow; beyond, names compete by evidence and recency. */
  readonly maxAgentsPerWorkflow: number;
  /** A name's evidence halves after this long without a sighting. */
  readonly nameHalfLifeMs: number;
  /** An agent (or workflow) name not seen for this long is forgotten with its samples. */
  readonly nameIdleMs: number;
  readonly promotion: PromotionConfig;
}

class AgentSamples {
  readonly output: RecentValues;
  readonly prompt: RecentValues;
  readonly uncachedPrompt: RecentValues;
  readonly duration: RecentValues;
  readonly growth: RecentValues;
  readonly toolTime: RecentValues;
  readonly accuracy: ScoreWindow;
  readonly coverage: ScoreWindow;
  constructor(capacity: number, window: number) {
    this.output = new RecentValues(capacity);
    this.prompt = new RecentValues(capacity);
    this.uncachedPrompt = new RecentValues(capacity);
    this.duration = new RecentValues(capacity);
    this.growth = new RecentValues(capacity);
    this.toolTime = new RecentValues(capacity);
    this.accuracy = new ScoreWindow(window);
    this.coverage = new ScoreWindow(window);
  }

  /** Bytes held, overhead included: the object, its rings, and the name's table entry. */
  bytes(name: string): number {
    return (
      AGENT_SAMPLES_BYTES +
      stringBytes(name) +
      this.output.bytes +
      this.prompt.bytes +
      this.uncachedPrompt.bytes +
      this.duration.bytes +
      this.growth.bytes +
      this.toolTime.bytes +
      this.accuracy.bytes +
      this.coverage.bytes
    );
  }
}

/** An agent's samples object and its CompetingNames entry (entry object, Map slot, order slot). */
const AGENT_SAMPLES_BYTES = 200;
/** A learner besides its kept sessions, agents and model: the object, its windows' objects, sets. */
const LEARNER_BYTES = 1024;
/** A built model as held (IndexedModel's maps and the model's objects) per byte of its JSON. */
const MODEL_BYTES_PER_JSON_BYTE = 4;

/** Measured fixed cost of one kept session shape besides its stages: the shape and its two arrays. */
export const SHAPE_BYTES = 96;
/** Cost of one stage of a kept shape besides its role string: two array slots (role, width). */
export const SHAPE_STAGE_BYTES = 16;

function shapeBytes(shape: SessionShape): number {
  let bytes = SHAPE_BYTES;
  for (const role of shape.roles) bytes += SHAPE_STAGE_BYTES + stringBytes(role);
  return bytes;
}

export interface CompletedSession {
  readonly shape: SessionShape;
  readonly scoredTransitions: number;
}

export class WorkflowLearner {
  /** Most recent completed sessions, oldest first, within maxSessionsKept and sessionsKeptBytes. */
  private shapes: SessionShape[] = [];
  /** Shapes before this index were dropped (cut off in batches). */
  private head = 0;
  private shapesBytes = 0;
  /** Per-agent samples; a junk name seen once gives way to a real one seen again. */
  private readonly agentSamples: CompetingNames<AgentSamples>;
  private readonly accuracy: ScoreWindow;
  private readonly coverage: ScoreWindow;
  private readonly offModel: ScoreWindow;
  private readonly newAgents = new Set<string>();
  private sessionsSeen = 0;
  private restoredSessions = 0;
  private version = 0;
  private mode: WorkflowMode = 'shadow';
  private indexed: IndexedModel | null = null;
  private modelBytes = 0;
  private dirty = false;
  /** This learner's bytes as last accounted by its owner (ProfilerCore's global byte bound). */
  accountedBytes = 0;

  constructor(
    readonly workflow: string,
    private readonly config: LearnerConfig,
  ) {
    this.agentSamples = new CompetingNames(config.maxAgentsPerWorkflow, config.nameHalfLifeMs);
    this.accuracy = new ScoreWindow(config.promotion.window);
    this.coverage = new ScoreWindow(config.promotion.window);
    // Sessions are fewer than transitions: a shorter window reacts to drift as fast.
    this.offModel = new ScoreWindow(Math.max(10, Math.round(config.promotion.window / 5)));
  }

  /** Kept sessions and their estimated bytes. */
  get keptSessions(): { count: number; bytes: number } {
    return { count: this.shapes.length - this.head, bytes: this.shapesBytes };
  }

  /**
   * Estimated bytes held, overhead included: kept sessions, every agent's samples, the
   * score windows and the model in force. O(agents).
   */
  get bytes(): number {
    let b = LEARNER_BYTES + stringBytes(this.workflow) + this.shapesBytes + this.modelBytes;
    b += this.accuracy.bytes + this.coverage.bytes + this.offModel.bytes;
    for (const name of this.agentSamples.names())
      b += (this.agentSamples.get(name) as AgentSamples).bytes(name);
    if (this.discard) b += this.discard.bytes('');
    return b;
  }

  /** Forgets the agents not seen for `nameIdleMs` (with their samples). */
  expireIdleAgents(nowMs: number): number {
    const gone = this.agentSamples.expireIdle(nowMs, this.config.nameIdleMs);
    for (const [name] of gone) this.newAgents.delete(name);
    return gone.length;
  }

  get agentCount(): number {
    return this.agentSamples.size;
  }

  hasAgent(agent: string): boolean {
    return this.agentSamples.has(agent);
  }

  get model(): WorkflowModel | null {
    return this.indexed?.model ?? null;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /**
   * Records sightings of an agent name at `nowMs` (one per trace); a new name takes the
   * place of the weakest when the workflow has `maxAgentsPerWorkflow` names already.
   * True when the name is new (the learner's bytes changed).
   */
  observeAgent(agent: string, nowMs: number, evidence = 1): boolean {
    const known = this.agentSamples.has(agent);
    const { evicted } = this.agentSamples.observe(agent, nowMs, () => this.newSamples(), evidence);
    if (evicted) this.newAgents.delete(evicted[0]);
    return !known;
  }

  private newSamples(): AgentSamples {
    return new AgentSamples(this.config.sampleCapacity, this.config.promotion.window);
  }

  private discard: AgentSamples | null = null;

  /** An agent's samples; a name no longer (or not yet) kept learns into a throwaway. */
  private samples(agent: string): AgentSamples {
    const kept = this.agentSamples.get(agent);
    if (kept) return kept;
    this.discard ??= this.newSamples();
    return this.discard;
  }

  /** Learns from and scores one finished session (its traces in any order). */
  completeSession(traces: readonly Trace[]): CompletedSession {
    const ordered = [...traces].sort((a, b) => a.startUnixMs - b.startUnixMs);
    const stages = segmentStages(
      ordered.map((t) => ({ agent: t.agent, startMs: t.startUnixMs, endMs: t.endUnixMs })),
    );
    const shape: SessionShape = { roles: stages.map((s) => s.role), widths: stages.map((s) => s.width) };
    let scored = 0;
    let offModel = false;
    const model = this.indexed;
    // Next-stage accuracy, attributed to the agent(s) of the stage the prediction was made after.
    for (let i = 0; i <= stages.length; i++) {
      const actual = i < stages.length ? (stages[i]?.role as string) : END_ROLE;
      if (i === 0) continue; // the first stage of a session is not predicted from anything
      const predicted = model?.topNext(shape.roles.slice(0, i)) ?? null;
      if (model && predicted === null) offModel = true;
      const hit = predicted === actual;
      if (model) {
        this.accuracy.add(hit);
        for (const agent of (stages[i - 1]?.role ?? '').split('+')) this.samples(agent).accuracy.add(hit);
        scored++;
      }
    }
    // Per-agent samples: output, prompt growth, tool time after its stage.
    const lastPrompt = new Map<string, number>();
    for (const t of ordered) {
      const s = this.samples(t.agent);
      if (t.status === 'OK') {
        s.output.add(t.outputTokens);
        if (model) {
          const bound = model.agent(t.agent)?.outputBound;
          if (bound !== undefined) {
            const hit = t.outputTokens <= bound;
            s.coverage.add(hit);
            this.coverage.add(hit);
          } else {
            // An agent the model has never seen: its output cannot be bounded.
            s.coverage.add(false);
            this.coverage.add(false);
            offModel = true;
            if (this.agentSamples.has(t.agent)) this.newAgents.add(t.agent);
          }
        }
      }
      s.prompt.add(t.promptTokens);
      // Traces without a cached count (no usage details) count as all uncached.
      s.uncachedPrompt.add(Math.max(0, t.promptTokens - (t.cachedTokens ?? 0)));
      if (t.status === 'OK') s.duration.add(Math.max(0, t.endUnixMs - t.startUnixMs));
      const previous = lastPrompt.get(t.agent);
      if (previous !== undefined) s.growth.add(t.promptTokens - previous);
      lastPrompt.set(t.agent, t.promptTokens);
    }
    for (let i = 0; i + 1 < stages.length; i++) {
      const stage = stages[i];
      const next = stages[i + 1];
      if (!stage || !next) continue;
      const gap = Math.max(0, next.startMs - stage.endMs);
      for (const agent of stage.role.split('+')) this.samples(agent).toolTime.add(gap);
    }
    if (model) this.offModel.add(offModel);
    this.keep(shape);
    this.sessionsSeen++;
    this.dirty = true;
    return { shape, scoredTransitions: scored };
  }

  private keep(shape: SessionShape): void {
    const bytes = shapeBytes(shape);
    if (bytes > this.config.sessionsKeptBytes) return;
    this.shapes.push(shape);
    this.shapesBytes += bytes;
    while (
      this.shapes.length - this.head > this.config.maxSessionsKept ||
      this.shapesBytes > this.config.sessionsKeptBytes
    )
      this.shapesBytes -= shapeBytes(this.shapes[this.head++] as SessionShape);
    // The dropped prefix is cut off once it is half the array: O(1) amortized per session.
    if (this.head > 0 && this.head * 2 >= this.shapes.length) {
      this.shapes = this.shapes.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept sessions, oldest first. */
  private kept(): SessionShape[] {
    return this.head === 0 ? this.shapes : this.shapes.slice(this.head);
  }

  /** Rebuilds the model from the kept sessions and decides its mode. */
  rebuild(nowUnixMs: number): { model: WorkflowModel; decision: ModeDecision; modeChanged: boolean } {
    const shapes = this.kept();
    const { states, roles } = buildAutomaton(shapes, this.config.rareTransitionThreshold);
    const structure = deriveStructure(shapes, this.config.rareTransitionThreshold);
    const q = this.config.outputQuantile;
    const agents: AgentStats[] = [...this.agentSamples.names()]
      .map((agent) => {
        const s = this.agentSamples.get(agent) as AgentSamples;
        const [p50, p90, p99, bound] = s.output.quantiles([0.5, 0.9, 0.99, q]);
        const [t50, t90] = s.toolTime.quantiles([0.5, 0.9]);
        const finite = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? 0 : v);
        return {
          agent,
          samples: s.output.count,
          outputP50: finite(p50),
          outputP90: finite(p90),
          outputP99: finite(p99),
          outputBound: finite(bound),
          promptTokensMean: finite(s.prompt.mean()),
          uncachedPromptTokensMean: finite(s.uncachedPrompt.mean()),
          durationP50Ms: finite(s.duration.quantiles([0.5])[0]),
          promptGrowthMean: finite(s.growth.mean()),
          toolTimeP50Ms: finite(t50),
          toolTimeP90Ms: finite(t90),
          nextAgentAccuracy: finite(s.accuracy.rate),
          outputBoundCoverage: finite(s.coverage.rate),
        };
      })
      .sort((a, b) => a.agent.localeCompare(b.agent));
    const decision = decideMode(
      this.mode,
      this.sessionsSeen,
      {
        accuracy: this.accuracy,
        coverage: this.coverage,
        offModel: this.offModel,
        newAgents: [...this.newAgents],
      },
      this.config.promotion,
    );
    const modeChanged = decision.mode !== this.mode;
    if (modeChanged && decision.mode === 'shadow') {
      // Scores from before the change do not speak for the workflow as it is now.
      this.accuracy.clear();
      this.coverage.clear();
      this.offModel.clear();
      for (const s of this.agentSamples.values()) {
        s.accuracy.clear();
        s.coverage.clear();
      }
    }
    this.newAgents.clear();
    this.mode = decision.mode;
    this.version++;
    const model: WorkflowModel = {
      workflow: this.workflow,
      version: this.version,
      mode: this.mode,
      regex: renderRegex(structure),
      structure,
      sessions: this.sessionsSeen,
      nextAgentAccuracy: Number.isNaN(this.accuracy.rate) ? 0 : this.accuracy.rate,
      outputBoundCoverage: Number.isNaN(this.coverage.rate) ? 0 : this.coverage.rate,
      states,
      roles,
      agents,
      builtUnixMs: nowUnixMs,
    };
    this.setModel(model);
    this.dirty = false;
    return { model, decision, modeChanged };
  }

  /**
   * Continues from a model loaded at start (the profiler's own published state). The
   * stored sessions are replayed next; the session count is then the larger of the two
   * (the stream keeps only the most recent sessions).
   */
  restore(model: WorkflowModel): void {
    this.version = model.version;
    this.mode = model.mode;
    this.restoredSessions = model.sessions;
    this.setModel(model);
  }

  private setModel(model: WorkflowModel): void {
    this.indexed = new IndexedModel(model);
    this.modelBytes = MODEL_BYTES_PER_JSON_BYTE * JSON.stringify(model).length;
  }

  finishRestore(): void {
    this.sessionsSeen = Math.max(this.sessionsSeen, this.restoredSessions);
  }
}
