// Answers, for one live session, what the workflow model expects next. Pure and fast: the
// model is indexed once per version, then each prediction is a few map lookups.
import {
  type AgentStats,
  type AutomatonState,
  END_ROLE,
  stateAfter,
  type Transition,
  type WorkflowMode,
  type WorkflowModel,
} from './workflow-model.js';

export interface Prediction {
  readonly mode: WorkflowMode;
  /** False when the session left the learned automaton (unseen role or count): drift. */
  readonly known: boolean;
  /** Most likely next stage roles, best first (the end of the session excluded). */
  readonly nextAgents: readonly Transition[];
  readonly endProbability: number;
  readonly expectedRemainingStages: number;
  readonly expectedRemainingRequests: number;
  /** Expected parallel width of the next stage. */
  readonly expectedNextFanout: number;
  /** Output-token bound for the given agent (configured quantile), when known. */
  readonly outputBound: number | null;
}

export class IndexedModel {
  private readonly states = new Map<string, AutomatonState>();
  private readonly agents = new Map<string, AgentStats>();
  private readonly widths = new Map<string, number>();
  private readonly maxWidths = new Map<string, number>();

  constructor(readonly model: WorkflowModel) {
    for (const s of model.states) this.states.set(s.key, s);
    for (const a of model.agents) this.agents.set(a.agent, a);
    for (const r of model.roles) {
      this.widths.set(r.role, r.meanWidth);
      this.maxWidths.set(r.role, r.maxWidth);
    }
  }

  agent(name: string): AgentStats | undefined {
    return this.agents.get(name);
  }

  /** The widest stage of `role` learned (0: the role was never seen). */
  maxWidth(role: string): number {
    return this.maxWidths.get(role) ?? 0;
  }

  /** `roles`: the session's stage roles so far, the current stage last. */
  predict(roles: readonly string[], agent: string | null): Prediction {
    const state = this.states.get(stateAfter(roles).key);
    const stats = agent === null ? undefined : this.agents.get(agent);
    const outputBound = stats ? stats.outputBound : null;
    if (!state) {
      return {
        mode: this.model.mode,
        known: false,
        nextAgents: [],
        endProbability: 0,
        expectedRemainingStages: 0,
        expectedRemainingRequests: 0,
        expectedNextFanout: 0,
        outputBound,
      };
    }
    let endProbability = 0;
    let fanout = 0;
    const next: Transition[] = [];
    for (const t of state.next) {
      if (t.role === END_ROLE) endProbability += t.probability;
      else {
        next.push(t);
        fanout += t.probability * (this.widths.get(t.role) ?? 1);
      }
    }
    return {
      mode: this.model.mode,
      known: true,
      nextAgents: next,
      endProbability,
      expectedRemainingStages: state.expectedRemainingStages,
      expectedRemainingRequests: state.expectedRemainingRequests,
      expectedNextFanout: fanout,
      outputBound,
    };
  }

  /** The single most likely next role (END_ROLE included), for scoring. */
  topNext(roles: readonly string[]): string | null {
    const state = this.states.get(stateAfter(roles).key);
    return state?.next[0]?.role ?? null;
  }
}

/** `agent=probability` pairs, most likely first, at most `limit`: the x-pythia-next-agents value. */
export function formatNextAgents(next: readonly Transition[], limit = 3): string {
  return next
    .slice(0, limit)
    .map((t) => `${t.role}=${t.probability.toFixed(2)}`)
    .join(',');
}
