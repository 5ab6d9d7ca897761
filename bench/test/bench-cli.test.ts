// `npm run bench` and `npm run bench:load` read their command line through one helper: the
// help with code 0, every problem naming its flag with code 2, a bug thrown as it is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Command, optionsOrExit, UsageError } from '../src/runner/cli.js';
import { HELP, parseRunnerOptions } from '../src/runner/options.js';
import { LOAD_HELP, parseLoadOptions } from '../src/runner/load-options.js';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function run<T>(
  argv: string[],
  command: Command<T>,
): { out: string; err: string; code: number | null; value?: T } {
  let out = '';
  let err = '';
  const io = {
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
    exit: (code: number): never => {
      throw new Exit(code);
    },
  };
  try {
    return { out, err, code: null, value: optionsOrExit(argv, command, io) };
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    return { out, err, code: e.code };
  }
}

const BENCH: Command<unknown> = { name: 'bench', help: HELP, parse: parseRunnerOptions };
const LOAD: Command<unknown> = { name: 'bench:load', help: LOAD_HELP, parse: parseLoadOptions };

test('both commands: options when valid, the help with code 0', () => {
  assert.equal(run(['--seed', '3'], { ...BENCH, parse: parseRunnerOptions }).value?.seed, 3);
  assert.equal(run(['--seed', '3'], { ...LOAD, parse: parseLoadOptions }).value?.seed, 3);
  for (const command of [BENCH, LOAD]) {
    const r = run(['--help'], command);
    assert.equal(r.code, 0);
    assert.equal(r.out, `${command.help}\n`);
    assert.equal(r.err, '');
  }
});

test('both commands: a bad value or an unknown flag names the flag, prefixed by the command, code 2', () => {
  for (const command of [BENCH, LOAD]) {
    const bad = run(['--seed', 'x'], command);
    assert.equal(bad.code, 2);
    assert.match(bad.err, new RegExp(`^${command.name}: --seed[^\\n]*"x"`, 'm'));
    assert.ok(bad.err.endsWith(`(npm run ${command.name} -- --help)\n`), bad.err);
    const unknown = run(['--bogus'], command);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, new RegExp(`^${command.name}: .*'--bogus'`, 'm'));
  }
  // Every problem on its own line.
  const two = run(['--seed', 'x', '--jobs', '0'], LOAD);
  assert.equal(two.err.split('\n').filter((l) => l.startsWith('bench:load: ')).length, 2);
});

test('an error that is not about the command line is thrown as it is', () => {
  const broken = {
    name: 'bench',
    help: '',
    parse: (): never => {
      throw new RangeError('a bug');
    },
  };
  assert.throws(() => run([], broken), RangeError);
  const usage = run([], {
    ...broken,
    parse: () => {
      throw new UsageError(['--x: bad']);
    },
  });
  assert.equal(usage.code, 2);
  assert.equal(usage.err, 'bench: --x: bad\n(npm run bench -- --help)\n');
});

test('the real commands exit with code 2 and the flag on stderr', () => {
  for (const [script, name] of [
    ['main.ts', 'bench'],
    ['load-main.ts', 'bench:load'],
  ] as const) {
    const path = fileURLToPath(new URL(`../src/runner/${script}`, import.meta.url));
    try {
      execFileSync(process.execPath, ['--import', 'tsx', path, '--seed', 'x'], { stdio: 'pipe' });
      assert.fail(`${name} accepted --seed x`);
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      assert.equal(e.status, 2, `${name}: ${e.stderr.toString()}`);
      assert.match(e.stderr.toString(), new RegExp(`^${name}: --seed`, 'm'));
    }
  }
});
