import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, parseConfigText } from '../src/config/load.js';
import { ConfigError } from '../../core/src/errors.js';

const minimal = `
pools:
  - name: llama-8b
    models: [meta-llama/Llama-3.1-8B-Instruct]
    endpoints:
      - address: 10.0.0.11:8000
`;

test('a minimal file gets every default', () => {
  const config = parseConfigText(minimal);
  assert.equal(config.listen, '127.0.0.1:50051', 'loopback unless bound explicitly');
  assert.equal(config.admin, '127.0.0.1:9090');
  assert.equal(config.headers.workflow, 'x-pythia-workflow');
  assert.equal(config.ext_proc.request_body_mode, 'BUFFERED');
  assert.equal(config.ext_proc.max_body_bytes, 8 * 1024 * 1024);
  assert.deepEqual(config.ext_proc.llm_paths, ['/v1/chat/completions', '/v1/completions']);
  assert.equal(config.nats, undefined);
  assert.equal(config.pools[0]?.endpoints[0]?.address, '10.0.0.11:8000');
});

test('every problem is reported at once, each with its key path', () => {
  const text = `
listen: not-an-address
headers: { workflow: "X Bad" }
ext_proc: { request_body_mode: STREAMED, default_pool: nowhere, max_body_bytes: -1 }
surprise: true
pools:
  - name: a
    models: [m]
    endpoints: [{ address: "10.0.0.1:80" }, { address: "my-host:80" }]
  - name: a
    models: []
    endpoints: [{ address: "10.0.0.1:80", weight: 2 }]
`;
  let error: ConfigError | undefined;
  try {
    parseConfigText(text, 'test.yaml');
  } catch (err) {
    error = err as ConfigError;
  }
  assert.ok(error instanceof ConfigError);
  const paths = error.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, [
    'ext_proc.default_pool',
    'ext_proc.max_body_bytes',
    'ext_proc.request_body_mode',
    'headers.workflow',
    'listen',
    'pools[0].endpoints[1].address',
    'pools[1].endpoints[0].address',
    'pools[1].endpoints[0].weight',
    'pools[1].models',
    'pools[1].name',
    'surprise',
  ]);
  assert.match(error.message, /test\.yaml/);
  assert.match(error.message, /pools\[1\]\.name: duplicate of pools\[0\]/);
});

test('malformed YAML is one clear problem', () => {
  assert.throws(
    () => parseConfigText('pools: [\n', 'x.yaml'),
    (err: unknown) => {
      return err instanceof ConfigError && /not valid YAML/.test(err.message);
    },
  );
});

test('pools are required', () => {
  assert.throws(
    () => parseConfigText('listen: 127.0.0.1:1\n'),
    (err: unknown) => {
      return err instanceof ConfigError && err.problems.some((p) => p.path === 'pools');
    },
  );
});

test('IPv6 endpoint addresses are accepted in brackets', () => {
  const config = parseConfigText(minimal.replace('10.0.0.11:8000', '"[::1]:8000"'));
  assert.equal(config.pools[0]?.endpoints[0]?.address, '[::1]:8000');
});

test('scheduling profiles: the built-in ones by default, user ones added, names cross-checked', () => {
  const defaults = parseConfigText(minimal).scheduler;
  assert.equal(defaults.profile, 'pythia');
  assert.equal(defaults.reactive_profile, 'least-request');
  assert.deepEqual(Object.keys(defaults.profiles), [
    'pythia',
    'least-request',
    'round-robin',
    'prefix-aware',
    'session-affinity',
  ]);
  const custom = parseConfigText(`${minimal}
scheduler:
  profile: mine
  profiles:
    mine: { scorers: [{ type: queue-scorer, weight: 0.5 }], picker: { type: max-score-picker } }
`).scheduler;
  assert.equal(custom.profile, 'mine');
  assert.deepEqual(custom.profiles['mine'], {
    filters: [],
    scorers: [{ type: 'queue-scorer', weight: 0.5 }],
    picker: { type: 'max-score-picker' },
  });
  assert.ok(custom.profiles['pythia'], 'built-ins stay');
  assert.throws(
    () => parseConfigText(`${minimal}\nscheduler: { profile: mine, reactive_profile: pythia }\n`),
    (err: unknown) =>
      err instanceof ConfigError && err.problems.map((p) => p.path).join() === 'scheduler.profile',
  );
});

test('flow control: a queue TTL the idle-stream reaper would cut short is refused', () => {
  assert.throws(
    () =>
      parseConfig({
        ext_proc: { stream_idle_timeout_s: 30 },
        scheduler: { flow_control: { enabled: true, queue_ttl_s: 60 } },
        pools: [{ name: 'p', models: ['m'] }],
      }),
    /scheduler\.flow_control\.queue_ttl_s: a held request would be reaped as idle first/,
  );
  const ok = parseConfig({
    scheduler: { flow_control: { enabled: true } },
    pools: [{ name: 'p', models: ['m'] }],
  });
  assert.equal(ok.scheduler.flow_control.policy, 'workflow-aware');
  assert.equal(ok.scheduler.flow_control.queue_ttl_s, 60);
});
