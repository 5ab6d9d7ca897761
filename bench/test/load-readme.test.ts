import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  END,
  START,
  benchPageBlock,
  committedReports,
  readmeBlock,
  replaceBlock,
  seedDirs,
  seedTables,
} from '../src/runner/load-readme.js';
import { README_CHART, readmeChart, readmeChartRows } from '../src/runner/load-readme-chart.js';
import { type LoadSweepReport, loadReportMarkdown } from '../src/runner/load-report.js';
import { WORKLOADS } from '../src/runner/options.js';
import { existsSync } from 'node:fs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}/${path}`, 'utf8');

test("the load sweep's tables in docs/bench.md and README.md are the committed reports'", () => {
  const reports = committedReports(root);
  for (const [page, block] of [
    ['docs/bench.md', benchPageBlock(reports)],
    ['README.md', readmeBlock(reports)],
  ] as const) {
    assert.ok(block.startsWith(START) && block.endsWith(END));
    const text = read(page);
    assert.equal(replaceBlock(text, block, page), text, `run \`npm run bench:load:readme\` (${page})`);
  }
  for (const r of reports) {
    assert.equal(r.kind, 'load-sweep');
    // Every load has every policy and the oracle.
    for (const [workload, loads] of Object.entries(r.results))
      for (const [load, rows] of Object.entries(loads)) {
        assert.ok(rows['round-robin'] && rows['pythia'], `${workload} ${load}`);
        assert.ok(r.oracle[workload]?.[load], `${workload} ${load} oracle`);
      }
  }
});

test('each committed report.md is the writer rendering its report.json', () => {
  for (const seedDir of seedDirs(root))
    for (const w of WORKLOADS) {
      const dir = `${seedDir}/${w}`;
      if (!existsSync(`${dir}/report.json`)) continue;
      const md = readFileSync(`${dir}/report.md`, 'utf8');
      const charts = [...md.matchAll(/^!\[(.+)\]\(\1\)$/gm)].map((m) => m[1] as string);
      assert.ok(charts.length === 2, w);
      assert.equal(loadReportMarkdown(JSON.parse(readFileSync(`${dir}/report.json`, 'utf8')), charts), md, w);
    }
});

test('several seeds: pythia against the best peer per seed, and the README spans every seed', () => {
  const report = (seed: number, mean: number) =>
    ({
      seed,
      configuration: { replicas: 4, profile: 'h100-llama-8b', policies: ['round-robin', 'llm-d', 'pythia'] },
      results: { coding: { '0.9': {} } },
      oracle: { coding: {} },
      oracle_gain_share: { coding: {} },
      pythia_vs_best_peer: { coding: { '0.9': { best_peer: 'llm-d', jct_mean: mean, jct_p95: 1 } } },
    }) as unknown as LoadSweepReport;
  assert.deepEqual(seedTables([report(1, 1.02)]), []);
  const table = seedTables([report(1, 1.02), report(2, 0.97)]).join('\n');
  assert.match(table, /\| load \| seed 1 \| seed 2 \|/);
  assert.match(table, /\| 0\.9 \| 1\.02x \/ 1\.00x \(llm-d\) \| 0\.97x \/ 1\.00x \(llm-d\) \|/);
  const readme = readmeBlock([report(1, 1.02), report(2, 0.97)]);
  assert.match(readme, /seeds 1, 2 \| coding \|/);
  assert.match(readme, /0\.97x-1\.02x; 1\.00x/);
});

test("the README chart: each series' JCT over round-robin's, best peer per load and seed, seeds averaged", () => {
  const s = (mean: number, p95: number) => ({ jct_mean_s: mean, jct_p95_s: p95, sessions_completed: 10 });
  const report = (seed: number, llmd: number) =>
    ({
      seed,
      results: {
        coding: {
          '0.9': {
            'round-robin': s(200, 400),
            'least-request': s(180, 300),
            llm: s(llmd, 350),
            pythia: s(150, 320),
            'pythia-no-priority': s(10, 10),
          },
        },
      },
      oracle: { coding: { '0.9': s(140, 360) } },
    }) as unknown as LoadSweepReport;
  const rows = readmeChartRows([report(1, 160), report(2, 190)]);
  const at = (metric: string, series: string) =>
    rows.find((r) => r['metric'] === metric && r['series'] === series)?.['ratio'];
  assert.equal(at('mean JCT', 'round-robin'), 1);
  // Seed 1's best peer by mean is llm at 160, seed 2's least-request at 180: (0.8 + 0.9) / 2.
  assert.equal(at('mean JCT', 'best peer'), 0.85);
  // The best p95 is least-request's in both; a pythia variant is not a peer.
  assert.equal(at('p95 JCT', 'best peer'), 0.75);
  assert.equal(at('mean JCT', 'pythia'), 0.75);
  assert.equal(at('p95 JCT', 'oracle'), 0.9);
  assert.equal(rows.length, 8);
});

test('the committed README chart is the one drawn from the committed reports', async () => {
  const svg = await readmeChart(committedReports(root));
  assert.equal(svg, read(README_CHART), 'run `npm run bench:load:readme`');
  assert.match(read('README.md'), new RegExp(`\\]\\(${README_CHART.replace(/\./g, '\\.')}\\)`));
});
