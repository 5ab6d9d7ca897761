// node --expose-gc --import tsx bench/src/cardinality/held-cost-main.ts [N]
// Prints the per-held-request cost (held-cost.ts) as JSON lines: plain and workflow requests,
// a short and a 4 KB prompt, and a body heavy in JSON structure (1,000 empty objects besides
// a short prompt). bench/test/held-cost.test.ts runs it with a small N.
import { measureHeldCost } from './held-cost.js';

const n = Number(process.argv[2] ?? 50_000);
for (const workflow of [false, true])
  for (const promptChars of [100, 4000]) {
    const c = measureHeldCost({ n, promptChars, workflow });
    process.stdout.write(`${JSON.stringify({ workflow, promptChars, objects: 0, ...c })}\n`);
  }
const structure = measureHeldCost({ n: Math.ceil(n / 10), promptChars: 100, workflow: true, objects: 1000 });
process.stdout.write(
  `${JSON.stringify({ workflow: true, promptChars: 100, objects: 1000, ...structure })}\n`,
);
