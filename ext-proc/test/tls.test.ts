// Mutual TLS on the gRPC listener (as Envoy can call ext_proc), and secrets kept out of logs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EnvoyExtProcClient, TEST_FILTER } from '../../test-support/src/envoy-ext-proc-client.js';
import { parseConfig } from '../../common/src/config/load.js';
import { ConfigError } from '../../core/src/errors.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { startExtProc } from '../src/adapters/service.js';
import { MODEL, chatBody, chatHeaders } from './support/harness.js';

function certificates(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'pythia-tls-'));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  // P-256 keys: made in milliseconds, where RSA keys take seconds on a loaded machine.
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  ssl(
    'req',
    '-x509',
    ...newKey,
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  );
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      ...newKey,
      '-nodes',
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
      '-subj',
      `/CN=${who === 'server' ? 'localhost' : 'envoy'}`,
    );
    const ext = f(`${who}.ext`);
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${ext}`]);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.crt`),
      '-days',
      '1',
      '-extfile',
      ext,
    );
  }
  return {
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
  };
}

test('mutual TLS: a client with a certificate from the CA is served, one without is refused', async () => {
  const c = certificates();
  const config = parseConfig({
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    tls: { cert_file: c.serverCert, key_file: c.serverKey, ca_file: c.ca },
    scheduler: { scrape_interval_ms: 0, levers: { warming: false } },
    pools: [{ name: 'p', models: [MODEL], endpoints: [{ address: '127.0.0.1:9' }] }],
  });
  const { log } = captureLogger('ext-proc', 'warn');
  const service = await startExtProc(config, { log, collectProcessMetrics: false });
  const ca = readFileSync(c.ca!);
  const good = new EnvoyExtProcClient(
    `localhost:${service.grpcPort}`,
    TEST_FILTER,
    grpc.credentials.createSsl(ca, readFileSync(c.clientKey!), readFileSync(c.clientCert!)),
  );
  const bad = new EnvoyExtProcClient(
    `localhost:${service.grpcPort}`,
    { ...TEST_FILTER, failureModeAllow: false },
    grpc.credentials.createSsl(ca),
  );
  try {
    const ok = await good.processRequest(chatHeaders(), chatBody());
    assert.equal(ok.kind === 'continue' && ok.failedOpen, null);
    const refused = await bad.processRequest(chatHeaders(), chatBody());
    assert.equal(refused.kind, 'local_reply', 'no client certificate, no service');
    assert.match(
      refused.kind === 'local_reply' ? refused.details : '',
      /stream failed/,
      'refused, not timed out',
    );
  } finally {
    good.close();
    bad.close();
    await service.stop();
  }
});

test('NATS credentials: one kind at most, user with password; secrets are redacted from logs', () => {
  const base = { pools: [{ name: 'p', models: ['m'] }] };
  assert.throws(
    () => parseConfig({ ...base, nats: { url: 'nats://x:4222', token: 't', user: 'u', password: 'p' } }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.path === 'nats'),
  );
  assert.throws(
    () => parseConfig({ ...base, nats: { url: 'nats://x:4222', user: 'u' } }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.path === 'nats.password'),
  );
  const config = parseConfig({
    ...base,
    nats: { url: 'tls://x:4222', user: 'svc', password: 'hunter2', tls: { ca_file: '/etc/ca.pem' } },
  });
  const { log, lines } = captureLogger('test', 'info');
  log.info({ nats: config.nats }, 'configuration');
  assert.equal(JSON.stringify(lines()).includes('hunter2'), false);
});
