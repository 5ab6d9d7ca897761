// node --expose-gc --import tsx bench/src/cardinality/json-cost.ts
// The measurement behind jsonValueBytes (core/src/bounded/memory-cost.ts): 300 distinct bodies
// of each shape are parsed and kept, and the heap growth after full collections per body is
// set against the estimate, which must not be below it. Exits 1 when it is.
import { jsonValueBytes } from '../../../core/src/bounded/memory-cost.js';
import { memoryAfterGc } from './memory.js';

const N = 300;
const many = <T>(n: number, f: (k: number) => T): T[] => Array.from({ length: n }, (_, k) => f(k));

/** Each shape's i-th body (distinct strings per body, as each request's own). */
export const JSON_SHAPES: Record<string, (i: number) => unknown> = {
  'empty objects': () => ({ m: many(1000, () => ({})) }),
  'empty arrays': () => ({ m: many(1000, () => []) }),
  'small integers': () => ({ m: many(1000, (k) => k % 100) }),
  doubles: () => ({ m: many(1000, (k) => k + 0.5) }),
  'short strings': (i) => ({ m: many(1000, (k) => `s${i}-${k}`) }),
  'tool schemas': (i) => ({
    m: many(300, (k) => ({ type: 'string', description: `field ${k} of ${i}`, enum: ['a', 'b'] })),
  }),
  'one-key objects': () => ({ m: many(1000, () => ({ a: 1 })) }),
  'unique keys': (i) => ({ m: many(300, (k) => ({ [`k${i}_${k}`]: 1 })) }),
  'one big object': (i) => Object.fromEntries(many(2000, (k) => [`k${i}_${k}`, 1])),
  'chat prompt': (i) => ({
    model: 'm',
    messages: [
      { role: 'system', content: 'You are the engineer.' },
      { role: 'user', content: `${i} ${'x'.repeat(4000)}` },
    ],
  }),
  'non-Latin prompt': (i) => ({ messages: [{ role: 'user', content: `${i} ${'日本語'.repeat(1000)}` }] }),
};

const heapAfterGc = (): number => memoryAfterGc().heap;

/** Heap growth and estimate per body of one shape (a function: nothing of it outlives the call). */
function measure(make: (i: number) => unknown): { textBytes: number; measured: number; estimated: number } {
  const texts = many(N, (i) => JSON.stringify(make(i)));
  const textBytes = Buffer.byteLength(texts[0] as string);
  const before = heapAfterGc();
  const kept = texts.map((t) => JSON.parse(t) as unknown);
  const measured = (heapAfterGc() - before) / N;
  const estimated = kept.reduce((sum: number, v) => sum + jsonValueBytes(v), 0) / N;
  return { textBytes, measured, estimated };
}

let under = 0;
for (const [name, make] of Object.entries(JSON_SHAPES)) {
  const { textBytes, measured, estimated } = measure(make);
  if (estimated < measured) under++;
  process.stdout.write(
    `${name.padEnd(17)} text ${String(textBytes).padStart(6)} B  parsed ${measured.toFixed(0).padStart(7)} B` +
      ` (${(measured / textBytes).toFixed(1).padStart(4)}x)  estimated ${estimated.toFixed(0).padStart(7)} B` +
      `  ${estimated >= measured ? 'ok' : 'UNDER-ESTIMATED'}\n`,
  );
}
process.exitCode = under > 0 ? 1 : 0;
