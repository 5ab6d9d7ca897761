// `npm start` end to end: NATS child, services, simulated replicas, gateway, the replayed
// workload and its summary, then a clean exit (PYTHIA_DEMO_EXIT=1 stops after the summary).
// It runs config/demo.yaml with every port moved to a free one, so it passes beside a running
// `npm start` or anything else holding the demo's ports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../../test-support/src/free-port.js';
import { natsServerAvailable } from '../../test-support/src/nats-server.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

/** The demo configuration with free ports: listeners the services bind pick their own (port
 *  0); the simulated replicas' ports must be known up front, as the pools name them. */
async function demoConfigOnFreePorts(): Promise<string> {
  const config = parse(readFileSync('config/demo.yaml', 'utf8')) as Record<string, any>;
  config['listen'] = '127.0.0.1:0';
  config['admin'] = '127.0.0.1:0';
  config['profiler'] = { ...config['profiler'], admin: '127.0.0.1:0' };
  config['autoscaler'] = { ...config['autoscaler'], admin: '127.0.0.1:0', keda_listen: '127.0.0.1:0' };
  for (const pool of config['pools'] as Array<{ endpoints: Array<{ address: string }> }>)
    for (const ep of pool.endpoints) ep.address = `127.0.0.1:${await freePort()}`;
  const path = join(mkdtempSync(join(tmpdir(), 'pythia-demo-')), 'demo.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

test(
  'npm start brings the system up, replays a workload through the gateway and stops cleanly',
  { skip },
  async () => {
    const gatewayPort = await freePort();
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/src/demo/start.ts'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PYTHIA_CONFIG: await demoConfigOnFreePorts(),
        PYTHIA_GATEWAY_PORT: String(gatewayPort),
        PYTHIA_DEMO_SESSIONS: '4',
        PYTHIA_DEMO_EXIT: '1',
        PYTHIA_DEMO_TIME_SCALE: '8',
      },
      timeout: 150_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`Pythia for Envoy is up: gateway http://127\\.0\\.0\\.1:${gatewayPort}/v1`),
    );
    assert.match(run.stdout, /sessions completed\s*│\s*6/);
    const frames = run.stdout.split('\r').filter((f) => f.includes(' sessions, '));
    assert.match(
      frames.at(-1) ?? '',
      /^\[#{40}\] 6\/6 sessions/,
      'the last progress frame agrees with the table',
    );
    assert.match(run.stdout, /failed requests\s*│\s*0/);
    assert.match(run.stdout, /workflow coding/);
    // The demo's replicas are fixed: the autoscaler's target is shown as advice beside them.
    assert.match(
      run.stdout,
      /replicas llama-8b\s*│\s*'2 serving; autoscaler target [^']*: advisory here, not applied'/,
    );
    assert.match(run.stdout, /stopping/);
  },
);
