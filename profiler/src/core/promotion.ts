// Shadow/proactive decisions from live scores. A workflow is promoted once enough sessions
// were seen and the recent next-agent accuracy and output-bound coverage pass their
// thresholds; it is demoted when either falls below the (lower) demotion thresholds, which
// is what drift (a new agent, a changed loop) does. The gap between thresholds is hysteresis.
import type { WorkflowMode } from '../../../core/src/workflow/workflow-model.js';

export interface PromotionConfig {
  readonly minSessions: number;
  /** Scored predictions needed before any decision. */
  readonly minScored: number;
  readonly promoteAccuracy: number;
  readonly promoteCoverage: number;
  readonly demoteAccuracy: number;
  readonly demoteCoverage: number;
  /** Recent outcomes kept per score. */
  readonly window: number;
  /**
   * Largest share of recent sessions allowed to leave the learned automaton (an unseen
   * agent or an unseen repetition count): the drift signal of a changed workflow.
   */
  readonly maxOffModelShare: number;
}

/** A ring of recent hit/miss outcomes. */
export class ScoreWindow {
  private readonly outcomes: boolean[] = [];
  private next = 0;
  private hits = 0;

  constructor(private readonly capacity: number) {}

  add(hit: boolean): void {
    if (this.outcomes.length < this.capacity) {
      this.outcomes.push(hit);
    } else {
      if (this.outcomes[this.next]) this.hits--;
      this.outcomes[this.next] = hit;
      this.next = (this.next + 1) % this.capacity;
    }
    if (hit) this.hits++;
  }

  get count(): number {
    return this.outcomes.length;
  }

  /** Forgets every outcome: after drift, only fresh evidence may promote again. */
  clear(): void {
    this.outcomes.length = 0;
    this.next = 0;
    this.hits = 0;
  }

  /** Share of hits; NaN when empty. */
  get rate(): number {
    return this.outcomes.length === 0 ? Number.NaN : this.hits / this.outcomes.length;
  }
}

export interface ModeDecision {
  readonly mode: WorkflowMode;
  readonly reason: string;
}

export interface LiveScores {
  readonly accuracy: ScoreWindow;
  readonly coverage: ScoreWindow;
  /** Per completed session: did it leave the learned automaton? */
  readonly offModel: ScoreWindow;
  /** Agents the model in force had never seen, observed since the last decision. */
  readonly newAgents: readonly string[];
}

export function decideMode(
  current: WorkflowMode,
  sessions: number,
  scores: LiveScores,
  config: PromotionConfig,
): ModeDecision {
  const acc = scores.accuracy.rate;
  const cov = scores.coverage.rate;
  const off = Number.isNaN(scores.offModel.rate) ? 0 : scores.offModel.rate;
  const scored = Math.min(scores.accuracy.count, scores.coverage.count);
  const fmt = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(3));
  const figures = `accuracy ${fmt(acc)}, coverage ${fmt(cov)}, off-model ${fmt(off)}, ${sessions} sessions`;
  if (current === 'shadow') {
    if (sessions < config.minSessions || scored < config.minScored)
      return { mode: 'shadow', reason: `warming up: ${figures}` };
    if (acc >= config.promoteAccuracy && cov >= config.promoteCoverage && off <= config.maxOffModelShare) {
      return { mode: 'proactive', reason: `promoted: ${figures}` };
    }
    return { mode: 'shadow', reason: `below promotion thresholds: ${figures}` };
  }
  if (scores.newAgents.length > 0) {
    return {
      mode: 'shadow',
      reason: `demoted (drift: new agent ${scores.newAgents.join(', ')}): ${figures}`,
    };
  }
  if (acc < config.demoteAccuracy || cov < config.demoteCoverage || off > config.maxOffModelShare) {
    return { mode: 'shadow', reason: `demoted (drift): ${figures}` };
  }
  return { mode: 'proactive', reason: `holding: ${figures}` };
}
