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
