// Flow control's byte estimate of a held request (its body, the parsed body's estimate, its
// flow name and HELD_ENTRY_BYTES) against the heap and off-heap growth measured over held
// requests in a process of its own (full collections need --expose-gc): never below it, and
// not far above, for prompt bodies and for a body heavy in JSON structure (21x its text parsed).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

interface Row {
  workflow: boolean;
  promptChars: number;
  objects: number;
  bodyBytes: number;
  measured: number;
  estimated: number;
}

/** The estimate may be this much above the measurement (plain requests cost less than workflow ones). */
const MAX_OVER = 1.35;

test('a held request is counted for at least what it keeps alive, and at most 35% more', () => {
  const script = fileURLToPath(new URL('../src/cardinality/held-cost-main.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '5000'], {
    encoding: 'utf8',
  });
  const rows = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Row);
  assert.equal(rows.length, 5);
  for (const r of rows) {
    const what = `${r.workflow ? 'workflow' : 'plain'}, ${r.bodyBytes} B body (${r.objects} objects): measured ${r.measured.toFixed(0)} B, estimated ${r.estimated.toFixed(0)} B`;
    assert.ok(r.estimated >= r.measured, what);
    assert.ok(r.estimated <= MAX_OVER * r.measured, what);
  }
});

test('the parsed-body estimate is never below the heap cost measured per JSON shape', () => {
  const script = fileURLToPath(new URL('../src/cardinality/json-cost.ts', import.meta.url));
  // Exits 1 (execFileSync throws, with the table) when a shape is under-estimated.
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    encoding: 'utf8',
  });
  assert.ok(!out.includes('UNDER'), out);
});
