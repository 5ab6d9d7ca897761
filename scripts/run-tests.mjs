// Runs every *.test.ts under the service folders with node's test runner (through tsx).
// Node 20's runner does not discover .ts files itself, hence this list. Files named
// *.serial.test.ts (load and timing tests) run afterwards on their own, so that parallel
// test files do not compete with them for the 2 cores; a combined total closes the output.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = [
  'core',
  'common',
  'ext-proc',
  'profiler',
  'autoscaler',
  'test-support',
  'bench',
  'envoy',
  'tests',
];
const filter = process.argv.slice(2);
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts') && (filter.length === 0 || filter.some((f) => path.includes(f))))
      files.push(path);
  }
}
for (const root of roots) walk(root);
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
function run(batch, concurrency) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...batch],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      for (const key of Object.keys(totals)) {
        const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tail);
        if (m) totals[key] += Number(m[1]);
      }
      resolve(code ?? 1);
    });
  });
}

const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const parallelStatus = parallel.length > 0 ? await run(parallel, 2) : 0;
const serialStatus = serial.length > 0 ? await run(serial, 1) : 0;
const status = parallelStatus || serialStatus;
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(status);
