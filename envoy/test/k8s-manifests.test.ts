// The Kubernetes examples parse and point at what the autoscaler actually serves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
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

const loadAll = (file: string) =>
  parseAllDocuments(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')).map(
    (d) => d.toJS() as Record<string, any>,
  );

test('ext_proc: bound explicitly in the manifest, and a NetworkPolicy admits only the gateway to it', () => {
  assert.match(defaults.listen, /^127\.0\.0\.1:/, 'the default listener is loopback');
  const docs = loadAll('k8s/pythia.yaml');
  const configMap = docs.find((d) => d['kind'] === 'ConfigMap');
  const config = parseConfig(parse(configMap?.['data']['config.yaml']));
  const grpcPort = Number(config.listen.split(':').at(-1));
  assert.ok(!config.listen.startsWith('127.'), 'the deployment binds the pod address explicitly');

  const policy = docs.find((d) => d['kind'] === 'NetworkPolicy');
  assert.ok(policy, 'a NetworkPolicy ships with ext-proc');
  assert.deepEqual(policy['spec'].podSelector.matchLabels, { app: 'pythia-ext-proc' });
  assert.deepEqual(policy['spec'].policyTypes, ['Ingress']);
  const deployment = docs.find((d) => d['kind'] === 'Deployment' && d['metadata'].name === 'pythia-ext-proc');
  assert.deepEqual(deployment?.['spec'].template.metadata.labels, { app: 'pythia-ext-proc' });

  const rules = policy['spec'].ingress as Array<{ from: any[]; ports: Array<{ port: number }> }>;
  const grpcRules = rules.filter((r) => r.ports.some((p) => p.port === grpcPort));
  assert.equal(grpcRules.length, 1, 'one rule opens the gRPC port');
  const peers = grpcRules[0]?.from ?? [];
  assert.ok(peers.length > 0, 'an empty from would admit everyone');
  for (const peer of peers) {
    assert.equal(peer.ipBlock, undefined, 'no address ranges');
    assert.ok(Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0, 'each peer names gateway pods');
  }
  // The gateways the other manifests configure are the ones admitted.
  const istio = loadAll('istio/envoyfilter.yaml')[0];
  const istioLabels = istio?.['spec'].workloadSelector.labels;
  assert.ok(
    peers.some(
      (p) =>
        JSON.stringify(p.podSelector.matchLabels) === JSON.stringify(istioLabels) &&
        p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === istio?.['metadata'].namespace,
    ),
    "Istio's ingress gateway",
  );
  const route = loadAll('gateway-api/inferencepool.yaml').find((d) => d['kind'] === 'HTTPRoute');
  const gatewayName = route?.['spec'].parentRefs[0].name;
  assert.ok(
    peers.some((p) => p.podSelector.matchLabels['gateway.networking.k8s.io/gateway-name'] === gatewayName),
    'the Gateway API gateway',
  );
  // No other rule opens the gRPC port, and the admin port is open only to Prometheus.
  for (const rule of rules.filter((r) => !grpcRules.includes(r))) {
    assert.ok(rule.ports.length > 0, 'a rule without ports would open every port');
    assert.ok(rule.from.length > 0);
  }
});
