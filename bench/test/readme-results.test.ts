import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { END, START, renderReadme, resultsBlock } from '../src/runner/readme-results.js';

test('the README results section is the one generated from the committed report', () => {
  const root = new URL('../../', import.meta.url);
  const report = JSON.parse(readFileSync(new URL('bench/results/latest/report.json', root), 'utf8'));
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const block = resultsBlock(report);
  assert.ok(block.startsWith(START) && block.endsWith(END));
  assert.equal(renderReadme(readme, block), readme, 'run `npm run bench:readme` after `npm run bench`');
});
