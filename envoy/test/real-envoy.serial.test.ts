// With a real `envoy` on PATH: Envoy with envoy/envoy.yaml in front of the ext_proc service
// and two fake model servers; the request must reach the endpoint ext-proc chose, with our
// headers and none of the client's spoofed ones. The file's ports are moved to free ones, so
// the test passes beside a running `npm start`. Skipped, with the reason, where no envoy
// binary exists (as on our CI machines).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../common/src/config/load.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { freePort } from '../../test-support/src/free-port.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';

const envoyBinary = spawnSync('sh', ['-c', 'command -v envoy'], { encoding: 'utf8' }).stdout.trim();
const skip = envoyBinary ? false : 'no envoy binary on PATH: the live real-Envoy test is skipped';

/** envoy/envoy.yaml with each port_value in `ports` replaced, written to a temporary file. */
function envoyConfigWithPorts(ports: ReadonlyMap<number, number>): string {
  const replace = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(replace);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      const port = typeof o['port_value'] === 'number' ? ports.get(o['port_value']) : undefined;
      if (port !== undefined) o['port_value'] = port;
      Object.values(o).forEach(replace);
    }
  };
  const bootstrap: unknown = parse(readFileSync('envoy/envoy.yaml', 'utf8'));
  replace(bootstrap);
  const path = join(mkdtempSync(join(tmpdir(), 'pythia-envoy-')), 'envoy.yaml');
  writeFileSync(path, stringify(bootstrap));
  return path;
}

test('real Envoy routes through ext_proc to the chosen endpoint', { skip }, async (t) => {
  const seen: Array<{ port: number; headers: Record<string, string | string[] | undefined> }> = [];
  const upstreams: Server[] = [];
  const upstreamPorts: number[] = [];
  for (let i = 0; i < 2; i++) {
    let port = 0;
    const server = createServer((req, res) => {
      seen.push({ port, headers: req.headers });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            choices: [{ message: { content: 'ok' } }],
            usage: { prompt_tokens: 5, completion_tokens: 1 },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    upstreams.push(server);
    upstreamPorts.push(port);
  }
  const [llama1, llama2] = upstreamPorts as [number, number];
  const qwen = await freePort(); // nothing listens there: never chosen for this model
  const { log } = captureLogger('ext-proc', 'warn');
  const config = parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    pools: [
      {
        name: 'llama-8b',
        models: ['meta-llama/Llama-3.1-8B-Instruct'],
        endpoints: [{ address: `127.0.0.1:${llama1}` }, { address: `127.0.0.1:${llama2}` }],
      },
      {
        name: 'qwen-14b',
        models: ['Qwen/Qwen2.5-14B-Instruct'],
        endpoints: [{ address: `127.0.0.1:${qwen}` }],
      },
    ],
  });
  const service: ExtProcService = await startExtProc(config, { log, collectProcessMetrics: false });
  const gatewayPort = await freePort();
  const envoyConfig = envoyConfigWithPorts(
    new Map([
      [9901, 0], // admin: any free port
      [10000, gatewayPort],
      [50051, service.grpcPort],
      [8001, llama1],
      [8002, llama2],
      [8011, qwen],
    ]),
  );
  // No hot-restart shared memory: another Envoy on this machine (npm start) does not clash.
  const envoy: ChildProcess = spawn(
    envoyBinary,
    ['-c', envoyConfig, '--log-level', 'warn', '--disable-hot-restart'],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    envoy.kill('SIGTERM');
    await service.stop();
    for (const s of upstreams) s.close();
  });
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  let status = 0;
  let body = '';
  // Envoy answers once it has started (a busy machine can take a while).
  await waitFor('Envoy to route the request', async () => {
    if (envoy.exitCode !== null) throw new Error(`envoy exited with ${envoy.exitCode}`);
    try {
      const res = await fetch(`${gateway}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-pythia-workflow': 'coding',
          'x-pythia-session': 's1',
          'x-pythia-agent': 'planner',
          'x-gateway-destination-endpoint': '6.6.6.6:80',
          'x-pythia-cluster': 'qwen-14b',
        },
        body: JSON.stringify({
          model: 'meta-llama/Llama-3.1-8B-Instruct',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      status = res.status;
      body = await res.text();
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(status, 200, body);
  const hit = seen.at(-1);
  assert.ok(hit, 'an upstream received the request');
  assert.equal(hit.headers['x-pythia-cluster'], 'llama-8b');
  assert.equal(hit.headers['x-gateway-destination-endpoint'], `127.0.0.1:${hit.port}`);
  const bad = await fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model": ',
  });
  assert.equal(bad.status, 400);
});
