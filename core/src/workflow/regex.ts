// The bounded regular expression of a workflow, for people: each common session shape as
// a sequence of stages. `role{a,b}` is a loop (the stage repeats a to b times in a row);
// `role[a,b]` is a fan-out (a to b parallel requests in one stage); both may combine, as
// `searcher[3,4]{2}`. Shapes rarer than the threshold are dropped; several common shapes
// are written as alternatives `(… | …)`.
import type { SessionShape } from './automaton.js';
import type { RegexPart } from './workflow-model.js';

interface Run {
  role: string;
  minWidth: number;
  maxWidth: number;
  repeat: number;
}

function runsOf(shape: SessionShape): Run[] {
  const runs: Run[] = [];
  shape.roles.forEach((role, i) => {
    const w = shape.widths[i] ?? 1;
    const last = runs[runs.length - 1];
    if (last && last.role === role) {
      last.repeat++;
      last.minWidth = Math.min(last.minWidth, w);
      last.maxWidth = Math.max(last.maxWidth, w);
    } else {
      runs.push({ role, minWidth: w, maxWidth: w, repeat: 1 });
    }
  });
  return runs;
}

export function deriveStructure(sessions: readonly SessionShape[], rareThreshold: number): RegexPart[][] {
  const groups = new Map<string, Run[][]>();
  for (const s of sessions) {
    const runs = runsOf(s);
    const skeleton = runs.map((r) => r.role).join(' ');
    const list = groups.get(skeleton) ?? [];
    list.push(runs);
    groups.set(skeleton, list);
  }
  const total = sessions.length;
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  const kept = ordered.filter(([, list], i) => i === 0 || list.length / total >= rareThreshold);
  return kept.map(([, list]) => {
    const first = list[0] as Run[];
    return first.map((run, pos) => {
      let wMin = Number.POSITIVE_INFINITY;
      let wMax = 0;
      let rMin = Number.POSITIVE_INFINITY;
      let rMax = 0;
      for (const runs of list) {
        const r = runs[pos] as Run;
        wMin = Math.min(wMin, r.minWidth);
        wMax = Math.max(wMax, r.maxWidth);
        rMin = Math.min(rMin, r.repeat);
        rMax = Math.max(rMax, r.repeat);
      }
      return { role: run.role, width: [wMin, wMax] as const, repeat: [rMin, rMax] as const };
    });
  });
}

function range(open: string, close: string, [lo, hi]: readonly [number, number]): string {
  if (hi <= 1) return '';
  return lo === hi ? `${open}${lo}${close}` : `${open}${lo},${hi}${close}`;
}

export function renderRegex(structure: ReadonlyArray<readonly RegexPart[]>): string {
  const shapes = structure.map((parts) =>
    parts.map((p) => `${p.role}${range('[', ']', p.width)}${range('{', '}', p.repeat)}`).join(' '),
  );
  if (shapes.length === 0) return '';
  return shapes.length === 1 ? (shapes[0] as string) : `(${shapes.join(' | ')})`;
}
