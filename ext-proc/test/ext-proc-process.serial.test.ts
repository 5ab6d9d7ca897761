// The service as it is deployed: `ext-proc/src/main.ts` in its own process with a config
// file, loaded by concurrent Envoy-like streams, then stopped with SIGTERM.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_FILTER, EnvoyExtProcClient } from '../../test-support/src/envoy-ext-proc-client.js';
import { chatBody, chatHeaders, MODEL } from './support/harness.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

let child: ChildProcess;
let grpcPort = 0;
let adminPort = 0;
let stderr = '';

before(async () => {
  grpcPort = await freePort();
  adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pythia-ext-proc-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    [
      `listen: 127.0.0.1:${grpcPort}`,
      `admin: 127.0.0.1:${adminPort}`,
      'log_level: warn',
      '# No model servers listen at these addresses: no scraping, no warming.',
      'scheduler: { scrape_interval_ms: 0, levers: { warming: false } }',
      'pools:',
      '  - name: llama-8b',
      `    models: [${MODEL}]`,
      '    endpoints: [{ address: 127.0.0.11:8000 }, { address: 127.0.0.12:8000 }]',
      '',
    ].join('\n'),
  );
  child = spawn(process.execPath, ['--import', 'tsx', 'ext-proc/src/main.ts'], {
    env: { ...process.env, PYTHIA_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ext-proc did not become ready: ${stderr}`);
});

after(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

test('answers 300 concurrent streams within the 200 ms message timeout', async () => {
  // One Node client driving 300 streams at once is itself the bottleneck (Envoy is not), so
  // its own timer is relaxed; the service's answer time per message is read from its metrics.
  const client = new EnvoyExtProcClient(`127.0.0.1:${grpcPort}`, {
    ...DEFAULT_FILTER,
    messageTimeoutMs: 5000,
  });
  await client.waitForReady();
  const body = chatBody(MODEL, { messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
  // Warm-up (JIT, connection), as a long-running sidecar would be.
  for (let i = 0; i < 5; i++)
    await Promise.all(Array.from({ length: 60 }, () => client.processRequest(chatHeaders(), body)));
  const outs = await Promise.all(
    Array.from({ length: 300 }, () => client.processRequest(chatHeaders(), body)),
  );
  client.close();
  const failures = outs
    .map((o) => (o.kind === 'continue' ? o.failedOpen : `local reply ${o.status}`))
    .filter((f) => f !== null);
  assert.deepEqual(failures, []);
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const bucket = (le: string) =>
    Number(
      new RegExp(`pythia_ext_proc_message_duration_seconds_bucket\\{le="${le}"\\} (\\d+)`).exec(metrics)?.[1],
    );
  const total = Number(/pythia_ext_proc_message_duration_seconds_count (\d+)/.exec(metrics)?.[1]);
  assert.ok(total >= 2 * 300, `messages observed: ${total}`);
  assert.equal(bucket('0.2'), total, 'every message answered within 200 ms');
});

test('SIGTERM shuts down cleanly with exit code 0', async () => {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.doesNotMatch(stderr, /Error/);
});
