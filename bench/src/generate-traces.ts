// npm run bench:generate -- coding|research [--sessions N] [--seed N] [--out FILE]
// Writes a trace file of generated agent sessions (the bench workloads), one completed
// request per line, for `npm run profiler:cli -- build FILE`.
import { writeFileSync } from 'node:fs';
import { traceToJsonLine } from '../../profiler/src/adapters/trace-file.js';
import { codingWorkload, researchWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

const args = process.argv.slice(2);
const kind = args[0];
const sessions = Number(option(args, '--sessions') ?? 500);
const seed = Number(option(args, '--seed') ?? 1);
const out = option(args, '--out') ?? `${kind}-traces.jsonl`;
const options = { sessions, ratePerS: 1, seed };
const plans =
  kind === 'coding' ? codingWorkload(options) : kind === 'research' ? researchWorkload(options) : null;
if (!plans) {
  console.error('usage: npm run bench:generate -- coding|research [--sessions N] [--seed N] [--out FILE]');
  process.exit(2);
}
const traces = synthesizeTraces(plans);
writeFileSync(out, `${traces.map(traceToJsonLine).join('\n')}\n`);
console.log(`wrote ${traces.length} traces of ${sessions} ${kind} sessions to ${out}`);
