// `npm run profiler:cli -- show` as a user runs it: it says which NATS it reads and why,
// lists every workflow in the models bucket, and creates nothing on a server that has no
// models bucket (it may be the wrong server).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { connect } from 'nats';
import { modelBucket } from '../../common/src/nats/setup.js';
import { encodeModel } from '../../core/src/wire/codec.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { codingWorkload, researchWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
const root = new URL('../../', import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('NATS_URL' in env)) delete childEnv['NATS_URL'];
  delete childEnv['PYTHIA_CONFIG'];
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'profiler/src/cli.ts', ...args], {
    cwd: root,
    env: childEnv,
    encoding: 'utf8',
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('profiler CLI show', { skip }, () => {
  let withModels: TestNatsServer;
  let empty: TestNatsServer;
  before(async () => {
    [withModels, empty] = await Promise.all([TestNatsServer.start(), TestNatsServer.start()]);
    const nc = await connect({ servers: withModels.url });
    const kv = await modelBucket(nc);
    const coding = buildOffline(
      synthesizeTraces(codingWorkload({ sessions: 30, ratePerS: 1, seed: 3 })),
      CORE_CONFIG,
    );
    const research = buildOffline(
      synthesizeTraces(researchWorkload({ sessions: 30, ratePerS: 1, seed: 4 })),
      CORE_CONFIG,
    );
    const models = [...coding.models, ...research.models];
    assert.equal(models.length, 2);
    for (const m of models) await kv.put(m.workflow, encodeModel(m));
    const third = models[0];
    assert.ok(third);
    await kv.put('triage', encodeModel({ ...third, workflow: 'triage' }));
    await kv.put('coding', encodeModel({ ...third, version: third.version + 1 })); // a newer revision
    await nc.close();
  });
  after(async () => {
    await withModels?.stop();
    await empty?.stop();
  });

  test('lists every workflow of the bucket, from NATS_URL or --nats, and names the server', () => {
    for (const run of [
      cli(['show'], { NATS_URL: withModels.url }),
      cli(['show', '--nats', withModels.url]),
    ]) {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^NATS ${withModels.url} \\((NATS_URL|--nats);`));
      const workflows = [...run.stdout.matchAll(/^workflow (\S+)/gm)].map((m) => m[1]);
      assert.deepEqual(workflows, ['coding', 'research', 'triage']);
      assert.match(run.stdout, /3 workflow model\(s\)/);
    }
  });

  test('a server without the bucket is reported and left untouched', async () => {
    const run = cli(['show', '--nats', empty.url]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /no PYTHIA_MODELS bucket on this server/);
    const nc = await connect({ servers: empty.url });
    const streams = await (await (await nc.jetstreamManager()).streams.list()).next();
    await nc.close();
    assert.deepEqual(streams, [], 'no stream created');
  });

  test('an unreachable server is a clear error naming where it looked', () => {
    const run = cli(['show'], { NATS_URL: 'nats://127.0.0.1:1' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
