// The cardinality bench's flatness verdict (bench/src/cardinality/memory.ts) on the shape the
// gRPC flood really produced at 10 million sessions: samples within the flood, all taken just
// after the two-generation tables turned over, and the flood's last sample with them full.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeFlat, printTable, type Sample } from '../src/cardinality/memory.js';

const within: Sample[] = Array.from({ length: 20 }, (_, i) => ({
  done: (i + 1) * 100_000,
  rssMiB: 920 + (i % 3) * 10,
  heapMiB: 130 + (i % 4),
}));

test("the flood's end, with every table at its fullest, is shown but not judged against the samples within it", () => {
  const end: Sample = {
    done: 2_100_000,
    rssMiB: 895,
    heapMiB: 209,
    offGrid: true,
    offGridNote: "the flood's end",
  };
  assert.equal(judgeFlat([...within, end], 200_000).verdict, 'flat');
  const lines: string[] = [];
  printTable('part', [...within, end], 200_000, (l) => lines.push(l));
  assert.ok(lines.includes("| 2,100,000 (the flood's end, not judged) | 895 | 209 |"), lines.join('\n'));
  // Judged with them, the same sample reads as growth: what the 10M run's verdict said.
  assert.equal(judgeFlat([...within, { ...end, offGrid: false }], 200_000).verdict, 'growing');
});

test('steady growth within the flood still fails', () => {
  const growing = within.map((s, i) => ({ ...s, heapMiB: 130 + i * 8 }));
  assert.equal(judgeFlat(growing, 200_000).verdict, 'growing');
});
