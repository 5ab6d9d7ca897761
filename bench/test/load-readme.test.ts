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
} from '../src/runner/load-readme.js';
import { loadReportMarkdown } from '../src/runner/load-report.js';
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
  for (const w of WORKLOADS) {
    const dir = `${root}/bench/results/load/${w}`;
    if (!existsSync(`${dir}/report.json`)) continue;
    const md = readFileSync(`${dir}/report.md`, 'utf8');
    const charts = [...md.matchAll(/^!\[(.+)\]\(\1\)$/gm)].map((m) => m[1] as string);
    assert.ok(charts.length === 2, w);
    assert.equal(loadReportMarkdown(JSON.parse(readFileSync(`${dir}/report.json`, 'utf8')), charts), md, w);
  }
});
