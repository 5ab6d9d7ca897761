// The Envoy configurations we ship: parsed, and their ext_proc settings checked against
// what the service needs and against our ProcessingMode proto.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfigFile } from '../../common/src/config/load.js';
import { envoyProtoRoot } from '../../common/src/proto.js';
import { ENVOY_EXT_PROC_HEALTH_CHECK } from '../../test-support/src/envoy-ext-proc-client.js';
import { DEFAULT_BUFFER_LIMIT_BYTES } from '../../test-support/src/http-gateway.js';
import { checkMessage } from './proto-check.js';

type Node = Record<string, any>;

const load = (file: string): Node =>
  parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')) as Node;

function hcm(bootstrap: Node): Node {
  return bootstrap['static_resources'].listeners[0].filter_chains[0].filters[0].typed_config;
}
function filter(bootstrap: Node, name: string): Node {
  const f = hcm(bootstrap).http_filters.find((x: Node) => x['name'] === name);
  assert.ok(f, `filter ${name} present`);
  return f.typed_config;
}
function cluster(bootstrap: Node, name: string): Node {
  const c = bootstrap['static_resources'].clusters.find((x: Node) => x['name'] === name);
  assert.ok(c, `cluster ${name} present`);
  return c;
}

function enumNames(type: string): Set<string> {
  return new Set(Object.keys(envoyProtoRoot().lookupEnum(type).values));
}
const bodyModes = enumNames('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
const headerModes = enumNames('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.HeaderSendMode');

function checkExtProcCommon(bootstrap: Node): Node {
  const { ['@type']: _type, ...filterConfig } = filter(bootstrap, 'envoy.filters.http.ext_proc');
  assert.deepEqual(
    checkMessage('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', filterConfig),
    [],
    'field by field',
  );
  const names = hcm(bootstrap).http_filters.map((f: Node) => f['name']);
  assert.deepEqual(
    names.slice(-2),
    ['envoy.filters.http.ext_proc', 'envoy.filters.http.router'],
    'ext_proc right before the router',
  );
  assert.ok(
    names.indexOf('envoy.filters.http.header_mutation') < names.indexOf('envoy.filters.http.ext_proc'),
  );
  const ep = filter(bootstrap, 'envoy.filters.http.ext_proc');
  assert.equal(
    ep['@type'],
    'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
  );
  assert.equal(ep.failure_mode_allow, true);
  assert.equal(ep.message_timeout, '0.2s');
  assert.deepEqual(ep.metadata_options.receiving_namespaces.untyped, ['envoy.lb']);
  const mode = ep.processing_mode as Node;
  for (const key of [
    'request_header_mode',
    'response_header_mode',
    'request_trailer_mode',
    'response_trailer_mode',
  ]) {
    assert.ok(headerModes.has(mode[key]), `${key}=${mode[key]}`);
  }
  for (const key of ['request_body_mode', 'response_body_mode'])
    assert.ok(bodyModes.has(mode[key]), `${key}=${mode[key]}`);
  const grpcCluster = cluster(bootstrap, ep.grpc_service.envoy_grpc.cluster_name);
  const protocol =
    grpcCluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.deepEqual(
    protocol.explicit_http_config.http2_protocol_options,
    {},
    'ext_proc cluster speaks HTTP/2',
  );
  const removed = filter(bootstrap, 'envoy.filters.http.header_mutation').mutations.request_mutations.map(
    (m: Node) => m['remove'],
  );
  assert.ok(removed.includes('x-gateway-destination-endpoint') && removed.includes('x-pythia-cluster'));
  return mode;
}

test('envoy.yaml: BUFFERED, fail-open, cluster_header routing, one override_host cluster per pool', () => {
  const bootstrap = load('envoy.yaml');
  const mode = checkExtProcCommon(bootstrap);
  assert.equal(mode['request_body_mode'], 'BUFFERED');
  const routes = hcm(bootstrap).route_config.virtual_hosts[0].routes;
  assert.equal(routes[0].route.cluster_header, 'x-pythia-cluster');
  assert.equal(filter(bootstrap, 'envoy.filters.http.ext_proc').allow_mode_override, true);
  // What the Envoy-faithful HTTP gateway mirrors: only /v1/ is routed, the rest is a 404.
  assert.deepEqual(
    routes.map((r: Node) => r.match.prefix),
    ['/v1/', '/v1/', '/'],
  );
  assert.equal(routes[2].direct_response.status, 404);
  assert.equal(JSON.parse(routes[2].direct_response.body.inline_string).error.code, 'not_found');
  const demo = loadConfigFile(new URL('../../config/demo.yaml', import.meta.url).pathname);
  // The body buffer holds ext_proc.max_body_bytes with room to spare (ext-proc's 413 wins).
  const bufferLimit = bootstrap['static_resources'].listeners[0].per_connection_buffer_limit_bytes;
  assert.equal(bufferLimit, DEFAULT_BUFFER_LIMIT_BYTES);
  assert.ok(bufferLimit > demo.ext_proc.max_body_bytes);
  for (const pool of demo.pools) {
    const c = cluster(bootstrap, pool.name);
    assert.equal(c.type, 'STRICT_DNS');
    const policy = c.load_balancing_policy.policies[0].typed_extension_config;
    assert.equal(policy.name, 'envoy.load_balancing_policies.override_host');
    assert.deepEqual(policy.typed_config.override_host_sources[0].metadata, {
      key: 'envoy.lb',
      path: [{ key: 'x-gateway-destination-endpoint' }],
    });
    const addresses = c.load_assignment.endpoints[0].lb_endpoints.map(
      (e: Node) =>
        `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    );
    assert.deepEqual(
      addresses,
      pool.endpoints.map((e) => e.address),
      `cluster ${pool.name} endpoints match config/demo.yaml`,
    );
  }
  const extProc = cluster(bootstrap, 'pythia_ext_proc').load_assignment.endpoints[0].lb_endpoints[0].endpoint
    .address.socket_address;
  assert.equal(`${extProc.address}:${extProc.port_value}`, demo.listen);
});

for (const file of ['envoy.yaml', 'envoy-endpoint-picker.yaml'])
  test(`${file}: the ext_proc cluster is health-checked as the test gateway models it`, () => {
    const [hc, ...more] = cluster(load(file), 'pythia_ext_proc').health_checks as Node[];
    assert.equal(more.length, 0);
    const seconds = (d: string) => Math.round(Number(d.replace(/s$/, '')) * 1000);
    assert.deepEqual(
      {
        intervalMs: seconds(hc?.['interval']),
        timeoutMs: seconds(hc?.['timeout']),
        unhealthyThreshold: hc?.['unhealthy_threshold'],
        healthyThreshold: hc?.['healthy_threshold'],
        serviceName: hc?.['grpc_health_check']?.service_name,
      },
      ENVOY_EXT_PROC_HEALTH_CHECK,
    );
  });

test('envoy-endpoint-picker.yaml: FULL_DUPLEX_STREAMED with trailers sent, ORIGINAL_DST on the endpoint header', () => {
  const bootstrap = load('envoy-endpoint-picker.yaml');
  const mode = checkExtProcCommon(bootstrap);
  assert.equal(mode['request_body_mode'], 'FULL_DUPLEX_STREAMED');
  assert.equal(mode['request_trailer_mode'], 'SEND');
  assert.equal(mode['response_trailer_mode'], 'SEND');
  const pool = cluster(bootstrap, 'inference_pool');
  assert.equal(pool.type, 'ORIGINAL_DST');
  assert.equal(pool.lb_policy, 'CLUSTER_PROVIDED');
  assert.deepEqual(pool.original_dst_lb_config, {
    use_http_header: true,
    http_header_name: 'x-gateway-destination-endpoint',
  });
});

const envoyBinary = spawnSync('sh', ['-c', 'command -v envoy'], { encoding: 'utf8' }).stdout.trim();

test(
  'real Envoy accepts both configurations',
  {
    skip: envoyBinary ? false : 'no envoy binary on PATH: real-Envoy validation skipped',
  },
  () => {
    for (const file of ['envoy.yaml', 'envoy-endpoint-picker.yaml']) {
      const path = new URL(`../${file}`, import.meta.url).pathname;
      const run = spawnSync(envoyBinary, ['--mode', 'validate', '-c', path], { encoding: 'utf8' });
      assert.equal(run.status, 0, `${file}: ${run.stderr}`);
    }
  },
);

test('the proto check itself rejects what Envoy would reject', () => {
  const bad = checkMessage('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', {
    failure_mode_allow: 'yes',
    message_timeout: '200ms',
    processing_mode: { request_body_mode: 'BUFFERRED' },
    metadata_options: { receiving_namespaces: { untyped: 'envoy.lb' } },
    grpc_service: { envoy_grpc: { cluster: 'x' } },
    made_up: 1,
  });
  assert.equal(bad.length, 6, bad.join('\n'));
});
