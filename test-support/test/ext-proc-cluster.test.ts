// The Envoy-faithful client over a multi-host ext_proc cluster: streams round robin over the
// healthy hosts, a host taken out by its gRPC health check and back in when it passes again,
// every host used while fewer than half are healthy (Envoy's panic threshold).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { EXT_PROC_SERVICE } from '../../common/src/proto.js';
import { EnvoyExtProcClient, type ExtProcHealthCheck, TEST_FILTER } from '../src/envoy-ext-proc-client.js';

interface Host {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  readonly address: string;
}

async function host(): Promise<Host> {
  const server = new grpc.Server();
  const health = new HealthImplementation({ [EXT_PROC_SERVICE]: 'SERVING' });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, health, address: `127.0.0.1:${port}` };
}

const CHECK: ExtProcHealthCheck = {
  intervalMs: 20,
  timeoutMs: 1000,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  serviceName: EXT_PROC_SERVICE,
};

let a: Host;
let b: Host;
let client: EnvoyExtProcClient;
before(async () => {
  [a, b] = [await host(), await host()];
  client = new EnvoyExtProcClient([a.address, b.address], TEST_FILTER, undefined, CHECK);
  await client.waitForReady();
});
after(() => {
  client.close();
  a.server.forceShutdown();
  b.server.forceShutdown();
});

/** The hosts the next `n` streams go to. */
function next(n: number): string[] {
  return Array.from({ length: n }, () => {
    const exchange = client.open();
    exchange.close();
    return exchange.host;
  });
}

test('streams go round robin over the healthy hosts', () => {
  const hosts = next(4);
  assert.deepEqual(new Set(hosts), new Set([a.address, b.address]));
  assert.notEqual(hosts[0], hosts[1]);
  assert.deepEqual(hosts.slice(2), hosts.slice(0, 2));
});

test('a host failing its health check is taken out, and back in once it passes', async () => {
  b.health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
  await client.whenHealthy((h) => !h.includes(b.address));
  assert.deepEqual(next(4), [a.address, a.address, a.address, a.address]);
  const out = client.healthChanges.at(-1);
  assert.deepEqual([out?.host, out?.healthy], [b.address, false]);
  b.health.setStatus(EXT_PROC_SERVICE, 'SERVING');
  await client.whenHealthy((h) => h.includes(b.address));
  assert.ok(next(2).includes(b.address));
});

test('with no healthy host, streams go to every host (panic threshold)', async () => {
  a.health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
  b.health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
  await client.whenHealthy((h) => h.length === 0);
  assert.deepEqual(new Set(next(2)), new Set([a.address, b.address]));
});
