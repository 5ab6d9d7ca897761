// Flow control's byte estimate of a held request (twice its body, its flow name and
// HELD_ENTRY_BYTES) against the heap and off-heap growth measured over held requests in a
// process of its own (full collections need --expose-gc): never below it, and not far above.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HELD_BODY_COPIES } from '../../ext-proc/src/core/flow-control/flow-controller.js';

interface Row {
  workflow: boolean;
  promptChars: number;
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
  assert.equal(rows.length, 4);
  for (const r of rows) {
    const what = `${r.workflow ? 'workflow' : 'plain'}, ${r.bodyBytes} B body: measured ${r.measured.toFixed(0)} B, estimated ${r.estimated.toFixed(0)} B`;
    assert.ok(r.estimated >= r.measured, what);
    assert.ok(r.estimated <= MAX_OVER * r.measured, what);
  }
  // The body's share: each body byte costs about HELD_BODY_COPIES bytes (raw and parsed).
  for (const workflow of [false, true]) {
    const [small, large] = rows.filter((r) => r.workflow === workflow) as [Row, Row];
    const perByte = (large.measured - small.measured) / (large.bodyBytes - small.bodyBytes);
    assert.ok(Math.abs(perByte - HELD_BODY_COPIES) < 0.2, `${perByte.toFixed(2)} bytes per body byte`);
  }
});
