// docs/operations.md's metrics table against the services' registries: every family each
// service registers is documented with its type and labels, and nothing documented is gone.
// Each exposition also passes `promtool check metrics` when promtool is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Registry } from 'prom-client';
import { startAutoscaler } from '../../autoscaler/src/adapters/service.js';
import { parseConfig } from '../../common/src/config/load.js';
import { ExtProcMetrics } from '../../ext-proc/src/adapters/metrics.js';
import { ProfilerMetrics } from '../../profiler/src/adapters/metrics.js';
import { captureLogger } from '../../test-support/src/log-capture.js';
import { docRows } from './doc-tables.js';

const PAGE = 'docs/operations.md';
const STANDARD = /^(process|nodejs)_/;

interface Family {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
}

function families(registry: Registry): Family[] {
  return registry.getMetricsAsArray().map((m) => ({
    name: m.name,
    type: String(m.type),
    labels: (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [],
  }));
}

async function withRegistries(
  processMetrics: boolean,
  use: (registries: Record<string, Registry>) => Promise<void>,
): Promise<void> {
  const config = parseConfig({
    scheduler: { scrape_interval_ms: 0 },
    autoscaler: { admin: '127.0.0.1:0', keda_listen: '127.0.0.1:0' },
    pools: [{ name: 'pool', models: ['m'] }],
  });
  const autoscaler = await startAutoscaler(config, {
    log: captureLogger('autoscaler', 'warn').log,
    collectProcessMetrics: processMetrics,
  });
  try {
    await use({
      'ext-proc': new ExtProcMetrics(processMetrics).registry,
      profiler: new ProfilerMetrics(processMetrics).registry,
      autoscaler: autoscaler.registry,
    });
  } finally {
    await autoscaler.stop();
  }
}

test('every metric family is documented with its type and labels, and nothing else is', async () => {
  const rows = new Map(docRows(PAGE).map((r) => [r.key, r.cells]));
  await withRegistries(false, async (registries) => {
    const all = Object.values(registries).flatMap(families);
    assert.ok(all.length >= 35, `found the services' families (${all.length})`);
    for (const f of all) {
      const cells = rows.get(f.name);
      assert.ok(cells, `${f.name} is missing from ${PAGE}`);
      assert.equal(cells[0], f.type, `${f.name}: type`);
      const labels = [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      assert.deepEqual(labels, f.labels, `${f.name}: labels`);
    }
    const stale = [...rows.keys()].filter(
      (name) => !STANDARD.test(name) && !all.some((f) => f.name === name),
    );
    assert.deepEqual(stale, [], `${PAGE} documents metrics no service has`);
  });
});

test('process_* and nodejs_* are exposed by every service run on its own, as documented', async () => {
  const rows = docRows(PAGE).map((r) => r.key);
  assert.ok(rows.includes('process_*') && rows.includes('nodejs_*'));
  await withRegistries(true, async (registries) => {
    for (const [service, registry] of Object.entries(registries)) {
      const text = await registry.metrics();
      assert.match(text, /^process_cpu_seconds_total \d/m, service);
      assert.match(text, /^nodejs_heap_size_used_bytes \d/m, service);
    }
  });
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

test(
  'promtool check metrics passes on every exposition',
  { skip: promtool ? false : 'promtool is not installed' },
  async () => {
    await withRegistries(true, async (registries) => {
      for (const [service, registry] of Object.entries(registries)) {
        const check = spawnSync('promtool', ['check', 'metrics'], {
          input: await registry.metrics(),
          encoding: 'utf8',
        });
        assert.equal(check.status, 0, `${service}: ${check.stdout}${check.stderr}`);
        assert.equal(`${check.stdout}${check.stderr}`.trim(), '', `${service}: promtool's findings`);
      }
    });
  },
);
