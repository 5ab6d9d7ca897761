// Every YAML file of the repository parses; the Istio, Gateway API and Kubernetes files say
// what the services need; the Istio filter is checked field by field like envoy.yaml.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../common/src/config/load.js';
import { checkMessage } from './proto-check.js';

const root = new URL('../../', import.meta.url).pathname;
type Node = Record<string, any>;

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

function docs(file: string): Node[] {
  return parseAllDocuments(readFileSync(join(root, file), 'utf8')).map((d) => {
    assert.equal(d.errors.length, 0, `${file}: ${d.errors.join('; ')}`);
    return d.toJS() as Node;
  });
}

test('every YAML file parses', () => {
  const files = yamlFiles(root);
  assert.ok(files.length >= 9, files.join(', '));
  for (const f of files) {
    for (const d of parseAllDocuments(readFileSync(f, 'utf8')))
      assert.equal(d.errors.length, 0, `${f}: ${d.errors.join('; ')}`);
  }
});

test('Istio EnvoyFilter: ext_proc before the router on the ingress gateway, HTTP/2 cluster, fields valid', () => {
  const [filter] = docs('envoy/istio/envoyfilter.yaml');
  assert.equal(filter?.['kind'], 'EnvoyFilter');
  const [http, cluster] = (filter as Node)['spec'].configPatches;
  assert.equal(http.applyTo, 'HTTP_FILTER');
  assert.equal(http.match.context, 'GATEWAY');
  assert.equal(http.match.listener.filterChain.filter.subFilter.name, 'envoy.filters.http.router');
  assert.equal(http.patch.operation, 'INSERT_BEFORE');
  const { ['@type']: _t, ...config } = http.patch.value.typed_config;
  assert.deepEqual(checkMessage('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', config), []);
  assert.equal(config.failure_mode_allow, true);
  assert.equal(config.grpc_service.envoy_grpc.cluster_name, cluster.patch.value.name);
  assert.deepEqual(
    cluster.patch.value.typed_extension_protocol_options[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ].explicit_http_config,
    {
      http2_protocol_options: {},
    },
  );
});

test('Gateway API: an InferencePool naming our service as endpoint picker, fail-open', () => {
  const [pool, route] = docs('envoy/gateway-api/inferencepool.yaml');
  assert.equal(pool?.['kind'], 'InferencePool');
  assert.equal(pool?.['apiVersion'], 'inference.networking.k8s.io/v1');
  assert.ok(pool?.['spec'].selector.matchLabels);
  assert.equal(pool?.['spec'].targetPorts[0].number, 8000);
  assert.deepEqual(pool?.['spec'].endpointPickerRef, {
    name: 'pythia-ext-proc',
    port: { number: 50051 },
    failureMode: 'FailOpen',
  });
  assert.equal(route?.['spec'].rules[0].backendRefs[0].kind, 'InferencePool');
});

test('Kubernetes: three Deployments, non-root, probes on the health endpoints, one config', () => {
  const all = docs('envoy/k8s/pythia.yaml');
  const deployments = all.filter((d) => d['kind'] === 'Deployment');
  assert.deepEqual(
    deployments.map((d) => d['metadata'].name),
    ['pythia-ext-proc', 'pythia-profiler', 'pythia-autoscaler'],
  );
  for (const d of deployments) {
    const pod = d['spec'].template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const c = pod.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.args.at(-1), '/etc/pythia/config.yaml');
  }
  const configMap = all.find((d) => d['kind'] === 'ConfigMap');
  // The embedded configuration is valid for our services.
  const config = parseConfigText(configMap?.['data']['config.yaml'], 'pythia-config');
  assert.ok(config.nats?.url.startsWith('nats://'));
  assert.equal(config.autoscaler.keda_listen, '0.0.0.0:50052');
});

test('Dockerfile: multi-stage, production dependencies only, non-root', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  assert.equal((text.match(/^FROM /gm) ?? []).length, 2);
  assert.match(text, /npm ci --omit=dev/);
  assert.match(text, /^USER node$/m);
});
