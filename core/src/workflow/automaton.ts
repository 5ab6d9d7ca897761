// Builds the counted automaton from completed sessions' stage-role sequences.
import {
  type AutomatonState,
  END_ROLE,
  type RoleWidth,
  START_STATE,
  stateKey,
  type Transition,
} from './workflow-model.js';

export interface SessionShape {
  /** Stage roles in order. */
  readonly roles: readonly string[];
  /** Width of each stage, same order. */
  readonly widths: readonly number[];
}

function nextKey(from: string, role: string): string {
  if (role === END_ROLE) return END_ROLE;
  const hash = from.lastIndexOf('#');
  const fromRole = hash === -1 ? '' : from.slice(0, hash);
  const fromRepeat = hash === -1 ? 0 : Number(from.slice(hash + 1));
  return stateKey(role, role === fromRole ? fromRepeat + 1 : 1);
}

/**
 * Counts transitions, prunes those below `rareThreshold` of their state's total (keeping
 * at least the most frequent), renormalises, and computes expected remaining stages and
 * requests by value iteration.
 */
export function buildAutomaton(
  sessions: readonly SessionShape[],
  rareThreshold: number,
): { states: AutomatonState[]; roles: RoleWidth[] } {
  const counts = new Map<string, Map<string, number>>();
  const visits = new Map<string, number>();
  const widths = new Map<string, { sum: number; n: number; min: number; max: number }>();
  const bump = (from: string, to: string) => {
    let row = counts.get(from);
    if (!row) {
      row = new Map();
      counts.set(from, row);
    }
    row.set(to, (row.get(to) ?? 0) + 1);
    visits.set(from, (visits.get(from) ?? 0) + 1);
  };
  for (const s of sessions) {
    let state = START_STATE;
    s.roles.forEach((role, i) => {
      bump(state, role);
      state = nextKey(state, role);
      const w = s.widths[i] ?? 1;
      const agg = widths.get(role) ?? { sum: 0, n: 0, min: w, max: w };
      agg.sum += w;
      agg.n++;
      agg.min = Math.min(agg.min, w);
      agg.max = Math.max(agg.max, w);
      widths.set(role, agg);
    });
    bump(state, END_ROLE);
  }
  const transitions = new Map<string, Transition[]>();
  for (const [from, row] of counts) {
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    const sorted = [...row.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const kept = sorted.filter(([, n], i) => i === 0 || n / total >= rareThreshold);
    const keptTotal = kept.reduce((a, [, n]) => a + n, 0);
    transitions.set(
      from,
      kept.map(([role, n]) => ({ role, probability: n / keptTotal })),
    );
  }
  const meanWidth = (role: string) => {
    const w = widths.get(role);
    return w ? w.sum / w.n : 1;
  };
  // Value iteration: states without outgoing transitions (unseen continuations) count 0.
  const stages = new Map<string, number>();
  const requests = new Map<string, number>();
  for (let iter = 0; iter < 500; iter++) {
    let delta = 0;
    for (const [from, next] of transitions) {
      let es = 0;
      let er = 0;
      for (const t of next) {
        if (t.role === END_ROLE) continue;
        const to = nextKey(from, t.role);
        es += t.probability * (1 + (stages.get(to) ?? 0));
        er += t.probability * (meanWidth(t.role) + (requests.get(to) ?? 0));
      }
      delta = Math.max(delta, Math.abs(es - (stages.get(from) ?? 0)));
      stages.set(from, es);
      requests.set(from, er);
    }
    if (delta < 1e-6) break;
  }
  const states: AutomatonState[] = [...transitions.entries()]
    .map(([key, next]) => ({
      key,
      visits: visits.get(key) ?? 0,
      next,
      expectedRemainingStages: stages.get(key) ?? 0,
      expectedRemainingRequests: requests.get(key) ?? 0,
    }))
    .sort((a, b) => b.visits - a.visits || a.key.localeCompare(b.key));
  const roles: RoleWidth[] = [...widths.entries()]
    .map(([role, w]) => ({ role, meanWidth: w.sum / w.n, minWidth: w.min, maxWidth: w.max }))
    .sort((a, b) => a.role.localeCompare(b.role));
  return { states, roles };
}
