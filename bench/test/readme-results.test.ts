import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { END, RESULTS_PAGE, START, renderReadme, resultsBlock } from '../src/runner/readme-results.js';
import type { BenchReport } from '../src/runner/report.js';
import { reportMarkdown } from '../src/runner/report-markdown.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const committed = (dir: string) => JSON.parse(read(`bench/results/${dir}/report.json`)) as BenchReport;

test('the results section of docs/bench.md is the one generated from the committed report', () => {
  const readme = read(RESULTS_PAGE);
  const block = resultsBlock(committed('latest'));
  assert.ok(block.startsWith(START) && block.endsWith(END));
  assert.equal(renderReadme(readme, block), readme, 'run `npm run bench:readme` after `npm run bench`');
});

test('each committed report.md is the report writer rendering its report.json', () => {
  for (const dir of ['latest', 'autoscale']) {
    const md = read(`bench/results/${dir}/report.md`);
    const charts = [...md.matchAll(/^!\[(.+)\]\(\1\)$/gm)].map((m) => m[1] as string);
    assert.ok(charts.length > 0, dir);
    assert.equal(reportMarkdown(committed(dir), charts), md, dir);
  }
});

test("the README's tables are report.md's, rendered by the same writer, without the warm hits column", () => {
  const report = committed('latest');
  const tableRows = (text: string) => text.split('\n').filter((l) => l.startsWith('| '));
  const readmeRows = tableRows(resultsBlock(report));
  const reportRows = tableRows(reportMarkdown(report, []));
  assert.equal(readmeRows.length, reportRows.length);
  assert.ok(readmeRows.length > 2 * Object.keys(report.results).length);
  readmeRows.forEach((row, i) => {
    const cells = (reportRows[i] as string).split(' | ');
    assert.equal(row, `${cells.slice(0, -1).join(' | ')} |`);
  });
});
