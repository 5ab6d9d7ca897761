// The bench runner end to end on a small load: report.json has every field the README
// promises, per workload and policy, and the charts are written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('npm run bench writes report.json, report.md and charts', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-'));
  const script = fileURLToPath(new URL('../src/runner/main.ts', import.meta.url));
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--sessions',
      '24',
      '--warmup',
      '8',
      '--rate',
      '4',
      '--replicas',
      '2',
      '--out',
      out,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.seed, 1);
  assert.ok(report.commit);
  for (const workload of ['coding', 'research']) {
    for (const policy of ['round-robin', 'least-request', 'prefix-aware', 'session-affinity', 'pythia']) {
      const r = report.results[workload][policy];
      for (const key of [
        'jct_mean_s',
        'jct_p50_s',
        'jct_p95_s',
        'jct_p99_s',
        'ttft_p50_s',
        'ttft_p95_s',
        'output_tokens_per_s',
        'prefix_hit_rate',
        'preemptions',
        'gpu_seconds',
        'warm_requests',
        'warm_hits',
        'sessions_completed',
      ]) {
        assert.ok(r[key] !== undefined && r[key] !== null, `${workload}/${policy}/${key}`);
      }
      assert.equal(r.sessions_completed, 24);
    }
    assert.ok(report.results[workload].pythia.ratios_vs['round-robin'].jct_mean > 0);
    assert.ok('next_agent_accuracy' in report.results[workload].pythia);
    assert.ok(existsSync(join(out, `jct-cdf-${workload}.svg`)));
    assert.ok(existsSync(join(out, `throughput-sweep-${workload}.svg`)));
  }
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /## coding/);
});
