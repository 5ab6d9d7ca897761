// With a real `envoy` on PATH: Envoy with envoy/envoy.yaml in front of the ext_proc service
// and two fake model servers on the ports the file names (8001, 8002); the request must
// reach the endpoint ext-proc chose, with our headers and none of the client's spoofed ones.
// Skipped, with the reason, where no envoy binary exists (as on our CI machines).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { type ExtProcService, startExtProc } from '../../ext-proc/src/adapters/service.js';

const envoyBinary = spawnSync('sh', ['-c', 'command -v envoy'], { encoding: 'utf8' }).stdout.trim();
const skip = envoyBinary ? false : 'no envoy binary on PATH: the live real-Envoy test is skipped';

test('real Envoy routes through ext_proc to the chosen endpoint', { skip }, async (t) => {
  const seen: Array<{ port: number; headers: Record<string, string | string[] | undefined> }> = [];
  const upstreams: Server[] = [];
  for (const port of [8001, 8002]) {
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
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    upstreams.push(server);
  }
  const { log } = captureLogger('ext-proc', 'warn');
  const config = parseConfig({
    listen: '127.0.0.1:50051',
    admin: '127.0.0.1:0',
    pools: [
      {
        name: 'llama-8b',
        models: ['meta-llama/Llama-3.1-8B-Instruct'],
        endpoints: [{ address: '127.0.0.1:8001' }, { address: '127.0.0.1:8002' }],
      },
      { name: 'qwen-14b', models: ['Qwen/Qwen2.5-14B-Instruct'], endpoints: [{ address: '127.0.0.1:8011' }] },
    ],
  });
  const service: ExtProcService = await startExtProc(config, { log, collectProcessMetrics: false });
  const envoy: ChildProcess = spawn(envoyBinary, ['-c', 'envoy/envoy.yaml', '--log-level', 'warn'], {
    stdio: 'ignore',
  });
  t.after(async () => {
    envoy.kill('SIGTERM');
    await service.stop();
    for (const s of upstreams) s.close();
  });
  let status = 0;
  let body = '';
  for (let i = 0; i < 100 && status === 0; i++) {
    try {
      const res = await fetch('http://127.0.0.1:10000/v1/chat/completions', {
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
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.equal(status, 200, body);
  const hit = seen.at(-1);
  assert.ok(hit, 'an upstream received the request');
  assert.equal(hit.headers['x-pythia-cluster'], 'llama-8b');
  assert.equal(hit.headers['x-gateway-destination-endpoint'], `127.0.0.1:${hit.port}`);
  const bad = await fetch('http://127.0.0.1:10000/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model": ',
  });
  assert.equal(bad.status, 400);
});
