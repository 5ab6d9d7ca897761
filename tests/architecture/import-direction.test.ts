// The architecture, checked from the code's own imports: one shared pure core, shared
// plumbing beside it, services that use both and never each other, and the bench and
// cross-service tests on top. A file that breaks the direction fails here with its path.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['ext-proc', 'profiler', 'autoscaler'];
const SKIP = new Set(['node_modules', '.git', 'dist', 'results', 'k6']);

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts')) out.push(relative(REPO, path));
  }
  return out;
}

const IMPORT = /\b(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

/** Relative imports of every .ts file, as repo paths of .ts files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of walk(REPO, [])) {
    const text = readFileSync(join(REPO, file), 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? '';
      targets.push(relative(REPO, resolve(REPO, dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

const graph = importGraph();
const top = (file: string) => file.split('/')[0] ?? '';
const area = (file: string) => {
  const [pkg, part] = file.split('/');
  return part === 'src' ? `${pkg}/src` : `${pkg}/other`;
};

function closure(file: string): Set<string> {
  const seen = new Set<string>();
  const stack = [file];
  while (stack.length > 0) {
    const f = stack.pop() as string;
    for (const t of graph.get(f) ?? []) {
      if (seen.has(t)) continue;
      seen.add(t);
      stack.push(t);
    }
  }
  return seen;
}

test('every relative import names a file that exists', () => {
  const missing: string[] = [];
  for (const [file, targets] of graph)
    for (const t of targets) if (!graph.has(t)) missing.push(`${file} -> ${t}`);
  assert.deepEqual(missing, []);
});

test('the shared core imports nothing outside itself (pure, no service, no plumbing)', () => {
  const bad: string[] = [];
  for (const file of graph.keys()) {
    if (!file.startsWith('core/src/')) continue;
    for (const t of closure(file)) if (!t.startsWith('core/src/')) bad.push(`${file} -> ${t}`);
  }
  assert.deepEqual(bad, []);
});

test('common plumbing depends only on the core and itself', () => {
  const bad: string[] = [];
  for (const file of graph.keys()) {
    if (!file.startsWith('common/src/')) continue;
    for (const t of closure(file))
      if (!t.startsWith('core/src/') && !t.startsWith('common/src/')) bad.push(`${file} -> ${t}`);
  }
  assert.deepEqual(bad, []);
});

test('no service reaches another service, the bench or the cross-service tests, even indirectly', () => {
  const bad: string[] = [];
  for (const file of graph.keys()) {
    const own = top(file);
    if (!SERVICES.includes(own)) continue;
    for (const t of closure(file)) {
      const other = top(t);
      if ((SERVICES.includes(other) && other !== own) || other === 'bench' || other === 'tests')
        bad.push(`${file} -> ${t}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("ext-proc's decision (routing, scheduling) knows no protocol: it never reaches the Envoy edge", () => {
  const bad: string[] = [];
  for (const file of graph.keys()) {
    if (!/^ext-proc\/src\/core\/(routing|scheduling)\//.test(file)) continue;
    for (const t of closure(file)) if (t.startsWith('ext-proc/src/core/envoy/')) bad.push(`${file} -> ${t}`);
  }
  assert.deepEqual(bad, []);
});

test('service code (src) never imports test support', () => {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    if (!SERVICES.includes(top(file)) || !file.split('/')[1]?.startsWith('src')) continue;
    for (const t of targets) if (top(t) === 'test-support') bad.push(`${file} -> ${t}`);
  }
  assert.deepEqual(bad, []);
});

/** Every cycle reachable in a directed graph, each as `a -> b -> a`. */
function findCycles(edges: ReadonlyMap<string, Iterable<string>>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of edges.keys()) visit(node, []);
  return cycles;
}

test('the source packages form no cycle', () => {
  // Edges between package source areas (tests are leaves: nothing imports them).
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = area(file);
    if (!from.endsWith('/src')) continue;
    for (const t of targets) {
      const to = area(t);
      if (to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  assert.deepEqual(findCycles(edges), []);
});

test('no file-level import cycle', () => {
  assert.deepEqual(findCycles(graph), []);
});
