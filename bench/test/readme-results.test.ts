import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { END, RESULTS_PAGE, START, renderReadme, resultsBlock } from '../src/runner/readme-results.js';

test('the results section of docs/bench.md is the one generated from the committed report', () => {
  const root = new URL('../../', import.meta.url);
  const report = JSON.parse(readFileSync(new URL('bench/results/latest/report.json', root), 'utf8'));
  const readme = readFileSync(new URL(RESULTS_PAGE, root), 'utf8');
  const block = resultsBlock(report);
  assert.ok(block.startsWith(START) && block.endsWith(END));
  assert.equal(renderReadme(readme, block), readme, 'run `npm run bench:readme` after `npm run bench`');
});
