// `npm start` end to end: NATS child, services, simulated replicas, gateway, the replayed
// workload and its summary, then a clean exit (PYTHIA_DEMO_EXIT=1 stops after the summary).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { natsServerAvailable } from '../../test-support/src/nats-server.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

test(
  'npm start brings the system up, replays a workload through the gateway and stops cleanly',
  { skip },
  () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/src/demo/start.ts'], {
      encoding: 'utf8',
      env: { ...process.env, PYTHIA_DEMO_SESSIONS: '4', PYTHIA_DEMO_EXIT: '1', PYTHIA_DEMO_TIME_SCALE: '8' },
      timeout: 150_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Pythia for Envoy is up: gateway http:\/\/127\.0\.0\.1:10000\/v1/);
    assert.match(run.stdout, /sessions completed\s*│\s*6/);
    assert.match(run.stdout, /failed requests\s*│\s*0/);
    assert.match(run.stdout, /workflow coding/);
    assert.match(run.stdout, /scaling llama-8b/);
    assert.match(run.stdout, /stopping/);
  },
);
