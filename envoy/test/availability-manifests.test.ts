// The Kubernetes manifests run every service with a spare: 2 replicas of the profiler and the
// autoscaler (leader and standby), disruption budgets that keep one of each, ext-proc on a CPU HPA.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';

const docs = (file: string) =>
  parseAllDocuments(readFileSync(new URL(`../k8s/${file}`, import.meta.url), 'utf8')).map(
    (d) => d.toJS() as Record<string, any>,
  );
const find = (all: Array<Record<string, any>>, kind: string, name: string) =>
  all.find((d) => d['kind'] === kind && d['metadata']?.name === name);

test('profiler and autoscaler: 2 replicas each, started from their entry points', () => {
  const all = docs('pythia.yaml');
  for (const [name, entry] of [
    ['pythia-profiler', 'profiler/src/main.ts'],
    ['pythia-autoscaler', 'autoscaler/src/main.ts'],
  ] as const) {
    const d = find(all, 'Deployment', name);
    assert.equal(d?.['spec'].replicas, 2, name);
    assert.equal(d?.['spec'].template.spec.containers[0].args[0], entry);
  }
});

test('a disruption budget per service and a CPU HPA for ext-proc', () => {
  const all = docs('availability.yaml');
  const deployments = docs('pythia.yaml').filter((d) => d['kind'] === 'Deployment');
  for (const d of deployments) {
    const pdb = find(all, 'PodDisruptionBudget', d['metadata'].name);
    assert.equal(pdb?.['spec'].minAvailable, 1);
    assert.deepEqual(pdb?.['spec'].selector.matchLabels, d['spec'].selector.matchLabels);
  }
  const hpa = find(all, 'HorizontalPodAutoscaler', 'pythia-ext-proc');
  assert.equal(hpa?.['spec'].scaleTargetRef.name, 'pythia-ext-proc');
  assert.equal(hpa?.['spec'].minReplicas, 2);
  assert.equal(hpa?.['spec'].metrics[0].resource.name, 'cpu');
});
