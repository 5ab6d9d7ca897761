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
    // Port 10000 unless another demo holds it (then free ports, said so).
    assert.match(run.stdout, /Pythia for Envoy is up: gateway http:\/\/127\.0\.0\.1:\d+\/v1/);
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
