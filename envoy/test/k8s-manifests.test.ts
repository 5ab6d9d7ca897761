// The Kubernetes examples parse and point at what the autoscaler actually serves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../common/src/config/load.js';

const load = (file: string) =>
  parse(readFileSync(new URL(`../k8s/${file}`, import.meta.url), 'utf8')) as Record<string, any>;
const defaults = parseConfig({ pools: [{ name: 'llama-8b', models: ['m'] }] });

test('KEDA external scaler ScaledObject names the autoscaler gRPC port and a pool', () => {
  const so = load('keda-external-scaler.yaml');
  assert.equal(so['kind'], 'ScaledObject');
  assert.equal(so['apiVersion'], 'keda.sh/v1alpha1');
  const trigger = so['spec'].triggers[0];
  assert.ok(['external', 'external-push'].includes(trigger.type));
  assert.ok(trigger.metadata.scalerAddress.endsWith(`:${defaults.autoscaler.keda_listen.split(':')[1]}`));
  assert.equal(trigger.metadata.pool, 'llama-8b');
});

test('the Prometheus and HPA alternatives query the autoscaler gauge', () => {
  const prom = load('keda-prometheus-scaler.yaml');
  assert.match(
    prom['spec'].triggers[0].metadata.query,
    /pythia_autoscaler_desired_replicas\{pool="llama-8b"\}/,
  );
  const hpa = load('hpa-external-metric.yaml');
  assert.equal(hpa['apiVersion'], 'autoscaling/v2');
  assert.equal(hpa['spec'].metrics[0].external.metric.name, 'pythia_autoscaler_desired_replicas');
  assert.equal(hpa['spec'].metrics[0].external.target.averageValue, '1');
});
