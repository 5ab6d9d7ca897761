// `npm start` as a user runs it, stopped the ways users stop it: a second instance while
// the first serves (it must name the taken ports and run on free ones), Ctrl-C in the middle
// of its replay (SIGINT to the whole foreground process group, as a terminal sends it), and
// SIGTERM to the npm process of the first. Afterwards no process of either is left and no
// temporary store remains. Linux (/proc) only.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { natsServerAvailable } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';

const root = new URL('../../', import.meta.url).pathname;
const skip = !existsSync('/proc/self/stat')
  ? 'needs /proc (Linux)'
  : natsServerAvailable()
    ? false
    : 'nats-server is not installed (apt-get install nats-server)';

interface Proc {
  readonly pid: number;
  readonly cmd: string;
}

/** Every live process below `pid` (its children, theirs, …), from /proc. */
function descendants(pid: number): Proc[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we read
    }
  }
  const out: Proc[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    out.push({ pid: p, cmd: commandOf(p) ?? '' });
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function commandOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return null; // a zombie has exited
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return null;
  }
}

/** Processes whose command line names `text` (a nats-server orphaned with its store here). */
function processesNaming(text: string): Proc[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => ({ pid: Number(e), cmd: commandOf(Number(e)) ?? '' }))
    .filter((p) => p.cmd.includes(text));
}

/** The processes of `procs` still running (same pid and command line). */
const alive = (procs: readonly Proc[]) => procs.filter((p) => commandOf(p.pid) === p.cmd);

class Demo {
  readonly child: ChildProcess;
  private text = '';
  readonly exited: Promise<number | null>;

  constructor(tmp: string) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TMPDIR: tmp,
      PYTHIA_DEMO_SESSIONS: '1',
      PYTHIA_DEMO_TIME_SCALE: '20',
    };
    for (const key of ['NATS_URL', 'PYTHIA_CONFIG', 'PYTHIA_GATEWAY_PORT', 'PYTHIA_DEMO_EXIT'])
      delete env[key];
    // Its own process group, as a shell gives a foreground job: Ctrl-C goes to the group.
    this.child = spawn('npm', ['start'], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (c: Buffer) => (this.text += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.text += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get output(): string {
    return this.text;
  }

  /** Resolves with the match once the output shows `pattern`; fails if the demo exits first. */
  until(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    return waitFor(
      `${pattern} in the demo's output`,
      () => {
        const match = this.text.match(pattern);
        if (match) return match;
        if (this.child.exitCode !== null) throw new Error(`the demo exited early:\n${this.text}`);
        return null;
      },
      timeoutMs,
    );
  }

  /** Last resort after a failed test: nothing may outlive the suite. */
  killAll(): void {
    for (const p of alive(descendants(this.pid))) process.kill(p.pid, 'SIGKILL');
    if (this.child.exitCode === null) process.kill(-this.pid, 'SIGKILL');
  }
}

function assertCleanOutput(demo: Demo): void {
  assert.doesNotMatch(demo.output, /TypeError|Unhandled|EADDRINUSE|^\s+at /m, demo.output);
}

describe('npm start: start, stop, and a second instance', { skip }, () => {
  let tmp: string;
  let first: Demo;
  let second: Demo;
  let firstProcs: Proc[] = [];
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pythia-demo-test-'));
  });
  after(() => {
    first?.killAll();
    second?.killAll();
    for (const p of processesNaming(tmp)) process.kill(p.pid, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a second instance names the taken ports, runs on free ones, and Ctrl-C mid-replay stops it cleanly', async () => {
    first = new Demo(tmp);
    const [, firstGateway] = await first.until(/gateway (http:\/\/\S+)\/v1/);
    await first.until(/serving until Ctrl-C/);
    firstProcs = descendants(first.pid);
    assert.ok(
      firstProcs.some((p) => p.cmd.startsWith('nats-server')),
      'the demo runs its own nats-server',
    );

    second = new Demo(tmp);
    await second.until(/(is|are) in use \(another npm start\?\): this instance runs on free ports instead/);
    const [, secondGateway] = await second.until(/gateway (http:\/\/\S+)\/v1/);
    assert.notEqual(secondGateway, firstGateway);
    await second.until(/sessions, [1-9]\d* output tokens/); // requests in flight
    const secondProcs = descendants(second.pid);
    assert.ok(secondProcs.some((p) => p.cmd.startsWith('nats-server')));

    process.kill(-second.pid, 'SIGINT');
    assert.equal(await second.exited, 0, second.output);
    assert.match(second.output, /stopping…/);
    assertCleanOutput(second);
    await waitFor(
      'every process of the second instance to exit',
      () => alive(secondProcs).length === 0,
      10_000,
    );
    const health = await fetch(`${firstGateway}/v1/models`);
    assert.equal(health.status, 200, 'the first instance kept serving');
  });

  test('SIGTERM to the npm process stops every part of the first instance', async () => {
    assert.ok(first, 'started by the previous test');
    const gateway = (first.output.match(/gateway (http:\/\/\S+)\/v1/) ?? [])[1];
    process.kill(first.pid, 'SIGTERM');
    assert.equal(await first.exited, 0, first.output);
    assertCleanOutput(first);
    await waitFor(
      'every process of the first instance to exit',
      () => alive(firstProcs).length === 0,
      10_000,
    );
    await assert.rejects(fetch(`${gateway}/v1/models`), 'the gateway is closed');
  });

  test('no process and no temporary store is left behind', () => {
    assert.deepEqual(processesNaming(tmp), []);
    // tsx keeps its compile cache in TMPDIR by design (tsx-<uid>), reused by every run.
    const left = readdirSync(tmp).filter((name) => !name.startsWith('tsx-'));
    assert.deepEqual(left, []);
  });
});
