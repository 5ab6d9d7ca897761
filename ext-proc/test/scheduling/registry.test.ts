import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILT_IN_PROFILES } from '../../../common/src/config/profiles.js';
import { ConfigError } from '../../../core/src/errors.js';
import { simpleScorer } from '../../src/core/scheduling/plugin.js';
import { BUILT_IN_PLUGINS } from '../../src/core/scheduling/registry.js';
import type { Profile } from '../../src/core/scheduling/types.js';

/** A profile as names and weights, comparable with deepEqual. */
function shape(p: Profile) {
  return {
    filters: p.filters.map((f) => f.name),
    scorers: p.scorers.map((s) => [s.scorer.name, s.weight]),
    picker: p.picker.name,
    needs: p.needs,
  };
}

test('the built-in profiles: plugins, weights and order', () => {
  const built = Object.fromEntries(
    Object.keys(BUILT_IN_PROFILES).map((name) => [
      name,
      shape(BUILT_IN_PLUGINS.build(name, BUILT_IN_PROFILES)),
    ]),
  );
  assert.deepEqual(built, {
    pythia: {
      filters: ['healthy-filter'],
      scorers: [['cost-model-scorer', 1]],
      picker: 'max-score-picker',
      needs: { prefixHashes: true },
    },
    'least-request': {
      filters: ['healthy-filter'],
      scorers: [['least-request-scorer', 1]],
      picker: 'max-score-picker',
      needs: { prefixHashes: false },
    },
    'round-robin': {
      filters: ['healthy-filter'],
      scorers: [],
      picker: 'round-robin-picker',
      needs: { prefixHashes: false },
    },
    'prefix-aware': {
      filters: ['healthy-filter'],
      scorers: [
        ['prefix-affinity-scorer', 3],
        ['queue-scorer', 2],
        ['kv-usage-scorer', 2],
      ],
      picker: 'max-score-picker',
      needs: { prefixHashes: true },
    },
    'session-affinity': {
      filters: ['healthy-filter'],
      scorers: [
        ['session-affinity-scorer', 10],
        ['least-request-scorer', 1],
      ],
      picker: 'max-score-picker',
      needs: { prefixHashes: false },
    },
    'llm-d': {
      filters: ['healthy-filter', 'prefix-affinity-gate-filter'],
      scorers: [['token-load-scorer', 1]],
      picker: 'max-score-picker',
      needs: { prefixHashes: true },
    },
    dynamo: {
      filters: ['healthy-filter'],
      scorers: [['kv-cost-scorer', 1]],
      picker: 'max-score-picker',
      needs: { prefixHashes: true },
    },
  });
});

test('every build is a new instance: a round-robin turn is never shared between profiles', () => {
  const a = BUILT_IN_PLUGINS.build('round-robin', BUILT_IN_PROFILES);
  const b = BUILT_IN_PLUGINS.build('round-robin', BUILT_IN_PROFILES);
  assert.notEqual(a.picker, b.picker);
  a.picker.pick([0, 0], 1, { random: () => 0 } as never);
  assert.deepEqual(b.picker.pick([0, 0], 1, { random: () => 0 } as never), [0]);
});

test('the catalogue names what is wrong with a plugin entry, paths relative to it', () => {
  assert.deepEqual(BUILT_IN_PLUGINS.problems('scorer', 'queue-scorer', undefined), []);
  assert.deepEqual(BUILT_IN_PLUGINS.problems('scorer', 'queue-scorer', {}), []);
  const [unknown] = BUILT_IN_PLUGINS.problems('scorer', 'qeue-scorer', undefined);
  assert.equal(unknown?.path, 'type');
  assert.match(unknown?.message ?? '', /unknown plugin type \(scorers: .*queue-scorer/);
  assert.deepEqual(BUILT_IN_PLUGINS.problems('scorer', 'healthy-filter', undefined), [
    { path: 'type', message: "'healthy-filter' is a filter, not a scorer" },
  ]);
  assert.deepEqual(BUILT_IN_PLUGINS.problems('picker', 'max-score-picker', { top: 2 }), [
    { path: 'parameters.top', message: 'unknown key' },
  ]);
});

test('a type is registered once; `with` adds plugins without changing the original', () => {
  const extra = simpleScorer('constant-scorer', (_r, candidates) => candidates.map(() => 1));
  const extended = BUILT_IN_PLUGINS.with(extra);
  assert.ok(extended.types('scorer').includes('constant-scorer'));
  assert.ok(!BUILT_IN_PLUGINS.types('scorer').includes('constant-scorer'));
  assert.throws(() => extended.with(extra), /'constant-scorer' registered twice/);
});

test('building a profile with plugins the registry lacks reports every one with its key path', () => {
  const profiles = {
    odd: {
      filters: [{ type: 'healthy-filter' }, { type: 'queue-scorer' }],
      scorers: [{ type: 'no-such-scorer', weight: 1 }],
      picker: { type: 'max-score-picker' },
    },
  };
  assert.throws(
    () => BUILT_IN_PLUGINS.build('odd', profiles),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.map((p) => p.path).join() ===
        'scheduler.profiles.odd.filters[1].type,scheduler.profiles.odd.scorers[0].type',
  );
  assert.throws(() => BUILT_IN_PLUGINS.build('missing', profiles), ConfigError);
});
