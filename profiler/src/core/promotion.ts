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

/** A ring of recent hit/miss outcomes: a Uint8Array grown by doubling up to its capacity. */
export class ScoreWindow {
  private outcomes: Uint8Array | null = null;
  private length = 0;
  private next = 0;
  private hits = 0;

  constructor(private readonly capacity: number) {}

  add(hit: boolean): void {
    if (this.length < this.capacity) {
      if (this.outcomes === null || this.length === this.outcomes.length) {
        const grown = new Uint8Array(Math.min(this.capacity, Math.max(16, 2 * this.length)));
        if (this.outcomes) grown.set(this.outcomes);
        this.outcomes = grown;
      }
      this.outcomes[this.length++] = hit ? 1 : 0;
    } else {
      const o = this.outcomes as Uint8Array;
      if (o[this.next]) this.hits--;
      o[this.next] = hit ? 1 : 0;
      this.next = (this.next + 1) % this.capacity;
    }
    if (hit) this.hits++;
  }

  get count(): number {
    return this.length;
  }

  /** Bytes held, overhead included (as RecentValues). */
  get bytes(): number {
    return 48 + (this.outcomes ? 160 + this.outcomes.length : 0);
  }

  /** Forgets every outcome: after drift, only fresh evidence may promote again. */
  clear(): void {
    this.outcomes = null;
    this.length = 0;
    this.next = 0;
    this.hits = 0;
  }

  /** Share of hits; NaN when empty. */
  get rate(): number {
    return this.length === 0 ? Number.NaN : this.hits / this.length;
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
