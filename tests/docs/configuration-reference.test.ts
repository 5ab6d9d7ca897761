// docs/configuration.md against the schema: every key the schema accepts is documented with
// its default, and no documented key is gone from the schema. The schema is walked
// generically, so a key added later shows up here as missing documentation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../common/src/config/schema.js';
import { docRows } from './doc-tables.js';
import { configKeys } from './schema-keys.js';

const PAGE = 'docs/configuration.md';

test('every configuration key is in docs/configuration.md, with its default', () => {
  const keys = configKeys(configSchema);
  assert.ok(keys.length > 90, `the walk found the schema's keys (${keys.length})`);
  const documented = new Map(docRows(PAGE).map((r) => [r.key, r.cells[0] ?? '']));
  const missing = keys.filter((k) => !documented.has(k.path)).map((k) => k.path);
  assert.deepEqual(missing, [], `document these keys in ${PAGE}`);
  const stale = [...documented.keys()].filter((key) => !keys.some((k) => k.path === key));
  assert.deepEqual(stale, [], `${PAGE} documents keys the schema no longer has`);
  for (const k of keys) {
    const cell = documented.get(k.path) ?? '';
    assert.ok(cell.startsWith(k.defaultText), `${k.path}: default ${k.defaultText}, documented "${cell}"`);
  }
});

test('the walk sees nested sections, list entries and per-pool maps', () => {
  const paths = configKeys(configSchema).map((k) => k.path);
  for (const expected of [
    'scheduler.warming.reservation_s',
    'pools[].endpoints[].address',
    'autoscaler.pools.<pool>.model_load_s',
    'nats.tls.ca_file',
  ])
    assert.ok(paths.includes(expected), expected);
});
