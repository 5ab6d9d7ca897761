// Profiles as configuration: validated against the plugin registry in the one config
// validation step, built by createGatewayCore, and routing as configured; a new plugin is
// its definition and a config entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { parseConfigText } from '../../../common/src/config/load.js';
import { ConfigError } from '../../../core/src/errors.js';
import { parseLlmRequest } from '../../src/core/envoy/openai-request.js';
import type { RouteInput } from '../../src/core/routing/route-input.js';
import { createGatewayCore } from '../../src/core/routing/gateway-core.js';
import type { ScorerPlugin } from '../../src/core/scheduling/plugin.js';
import { BUILT_IN_PLUGINS, type PluginRegistry } from '../../src/core/scheduling/registry.js';
import { request } from './helpers.js';

const POOLS = `
pools:
  - name: p
    models: [m]
    endpoints: [{ address: 127.0.0.1:1 }, { address: 127.0.0.1:2 }, { address: 127.0.0.1:3 }]
`;

function problemsOf(yaml: string, plugins: PluginRegistry = BUILT_IN_PLUGINS): Record<string, string> {
  try {
    parseConfigText(POOLS + yaml, 'test.yaml', plugins);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return Object.fromEntries(err.problems.map((p) => [p.path, p.message]));
  }
  return {};
}

test('every profile problem is reported at once, each with its key path', () => {
  const problems = problemsOf(`
scheduler:
  profile: fastest
  reactive_profile: mine
  profiles:
    mine:
      filters: [{ type: queue-scorer }]
      scorers:
        - { type: kv-usage-scorer, weight: -1 }
        - { type: quue-scorer, weight: 1 }
        - { type: queue-scorer, weight: .inf }
        - { type: least-request-scorer, weight: "2" }
        - { type: headroom-scorer }
        - { type: healthy-filter, weight: 1 }
      picker: { type: round-robin-picker, parameters: { start: 2 } }
    no-picker:
      scorers: [{ type: queue-scorer, weight: 1 }]
    bad.name: { picker: { type: max-score-picker } }
    other: { picker: { type: queue-scorer }, extra: 1 }
`);
  const at = 'scheduler.profiles';
  assert.deepEqual(Object.keys(problems).sort(), [
    'scheduler.profile',
    'scheduler.profiles.bad.name',
    `${at}.mine.filters[0].type`,
    `${at}.mine.picker.parameters.start`,
    `${at}.mine.scorers[0].weight`,
    `${at}.mine.scorers[1].type`,
    `${at}.mine.scorers[2].weight`,
    `${at}.mine.scorers[3].weight`,
    `${at}.mine.scorers[4].weight`,
    `${at}.mine.scorers[5].type`,
    `${at}.no-picker.picker`,
    `${at}.other.extra`,
    `${at}.other.picker.type`,
  ]);
  assert.match(
    problems['scheduler.profile'] ?? '',
    /names no profile \(profiles: pythia, .*, mine, no-picker/,
  );
  assert.equal(problems[`${at}.mine.filters[0].type`], "'queue-scorer' is a scorer, not a filter");
  assert.equal(problems[`${at}.mine.scorers[5].type`], "'healthy-filter' is a filter, not a scorer");
  assert.equal(problems[`${at}.other.picker.type`], "'queue-scorer' is a scorer, not a picker");
  assert.match(
    problems[`${at}.mine.scorers[1].type`] ?? '',
    /^unknown plugin type \(scorers: .*queue-scorer/,
  );
  for (const i of [0, 2, 3, 4])
    assert.equal(problems[`${at}.mine.scorers[${i}].weight`], 'expected a finite number >= 0');
  assert.equal(problems[`${at}.mine.picker.parameters.start`], 'unknown key');
  assert.match(problems[`${at}.no-picker.picker`] ?? '', /needs a picker/);
  assert.match(problems['scheduler.profiles.bad.name'] ?? '', /letters, digits/);
});

test('without the registry the names and shapes are still checked; building then reports the plugins', () => {
  const yaml = `
scheduler:
  reactive_profile: mine
  profiles: { mine: { scorers: [{ type: quue-scorer, weight: 1 }], picker: { type: max-score-picker } } }
`;
  const config = parseConfigText(POOLS + yaml);
  assert.throws(
    () => createGatewayCore(config, { clock: { now: () => 0, wallNow: () => 0 }, random: () => 0 }),
    (err: unknown) =>
      err instanceof ConfigError && err.problems[0]?.path === 'scheduler.profiles.mine.scorers[0].type',
  );
  assert.deepEqual(Object.keys(problemsOf('scheduler: { reactive_profile: nope }')), [
    'scheduler.reactive_profile',
  ]);
});

function plainInput(): RouteInput {
  const body = Buffer.from(
    JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi '.repeat(500) }] }),
  );
  return {
    llm: parseLlmRequest(body, 'chat'),
    identity: null,
    requestId: 'r',
    exchange: 'r',
    sessionEnd: false,
  };
}

function gateway(yaml: string, plugins: PluginRegistry = BUILT_IN_PLUGINS) {
  const config = parseConfigText(POOLS + yaml, 'test.yaml', plugins);
  const core = createGatewayCore(config, {
    clock: { now: () => 0, wallNow: () => 0 },
    random: () => 0.5,
    plugins,
  });
  // :1 busy but nearly empty KV, :2 and :3 idle with fuller caches.
  const loads = [
    ['127.0.0.1:1', 0.1, 5],
    ['127.0.0.1:2', 0.8, 0],
    ['127.0.0.1:3', 0.5, 0],
  ] as const;
  for (const [address, kvUsage, inFlight] of loads) {
    const ep = core.cluster.endpoint(address);
    assert.ok(ep);
    ep.kvUsage = kvUsage;
    ep.inFlight = inFlight;
  }
  return core;
}

test('a profile defined in YAML routes as configured', () => {
  const byDefault = gateway('');
  const least = byDefault.router.route(plainInput());
  assert.equal(least.profile, 'least-request');
  assert.notEqual(least.endpoint, '127.0.0.1:1', 'least-request avoids the busy endpoint');

  const core = gateway(`
scheduler:
  reactive_profile: kv-first
  profiles:
    kv-first:
      filters: [{ type: healthy-filter }]
      scorers: [{ type: kv-usage-scorer, weight: 1 }]
      picker: { type: max-score-picker }
`);
  const routed = core.router.route(plainInput());
  assert.equal(routed.profile, 'kv-first');
  assert.equal(routed.endpoint, '127.0.0.1:1', 'lowest KV usage, however busy');
  assert.equal(core.scheduler.decide(request).endpoint, '127.0.0.1:1');
  assert.equal(core.prefixIndex.size, 0, 'no prefix hashes: no plugin of the profile needs them');
});

test('a user profile of a built-in name replaces it', () => {
  const core = gateway(`
scheduler:
  profiles:
    least-request: { scorers: [{ type: kv-usage-scorer, weight: 1 }], picker: { type: max-score-picker } }
`);
  assert.equal(core.router.route(plainInput()).endpoint, '127.0.0.1:1');
});

test('a new scorer is its definition plus a config entry: parameters validated, needs honoured', () => {
  const seenHashes: number[] = [];
  const pinned: ScorerPlugin<{ address: string }> = {
    type: 'pinned-scorer',
    kind: 'scorer',
    parameters: z.strictObject({ address: z.string() }),
    needs: { prefixHashes: true },
    create: ({ address }) => ({
      name: 'pinned-scorer',
      score: (request, candidates) => {
        seenHashes.push(request.prefixHashes.length);
        return candidates.map((c) => (c.endpoint.address === address ? 1 : 0));
      },
    }),
  };
  const plugins = BUILT_IN_PLUGINS.with(pinned);
  const profile = (parameters: string) => `
scheduler:
  reactive_profile: pinned
  profiles:
    pinned:
      scorers: [{ type: pinned-scorer, weight: 1, parameters: ${parameters} }]
      picker: { type: max-score-picker }
`;
  const core = gateway(profile('{ address: 127.0.0.1:2 }'), plugins);
  for (let i = 0; i < 3; i++) assert.equal(core.router.route(plainInput()).endpoint, '127.0.0.1:2');
  assert.ok(seenHashes.length === 3 && seenHashes.every((n) => n > 0), 'the router computed prefix hashes');
  assert.ok(core.prefixIndex.size > 0, 'and recorded them');

  assert.deepEqual(problemsOf(profile('{}'), plugins), {
    'scheduler.profiles.pinned.scorers[0].parameters.address':
      'Invalid input: expected string, received undefined',
  });
  assert.deepEqual(Object.keys(problemsOf(profile('{ address: x }'))), [
    'scheduler.profiles.pinned.scorers[0].type',
  ]);
});
