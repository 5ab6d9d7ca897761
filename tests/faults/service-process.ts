// A service (profiler, autoscaler, ext-proc, simulated model server) as its own process, so a
// test can SIGKILL it as an operator's node failure would: no shutdown hook runs. Its NDJSON
// log lines are kept; the first line carrying a field (e.g. `admin_port`) gives its ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../../test-support/src/wait-for.js';

const ROOT = resolve(import.meta.dirname, '../..');

export const ENTRIES = {
  profiler: 'profiler/src/main.ts',
  autoscaler: 'autoscaler/src/main.ts',
  'ext-proc': 'ext-proc/src/main.ts',
} as const;

/** Writes a configuration (JSON is YAML) to a temporary file for a child service. */
export function configFile(config: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pythia-fault-')), 'config.yaml');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export class ServiceProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  private readonly exited: Promise<void>;
  private buffer = '';

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.stdout?.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (process.env['PYTHIA_FAULT_LOGS'])
          appendFileSync(`${process.env['PYTHIA_FAULT_LOGS']}/${name}.log`, `${line}\n`);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.lines.push({ stderr: chunk.toString() }));
  }

  /** Starts `entry` (a service of ENTRIES, or any script with its arguments) under tsx. */
  static spawn(name: string, entry: string, args: readonly string[]): ServiceProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, child);
  }

  static service(name: string, service: keyof typeof ENTRIES, configPath: string): ServiceProcess {
    return ServiceProcess.spawn(name, ENTRIES[service], ['--config', configPath]);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first value of a log field (waits for the line that carries it). */
  field<T = unknown>(key: string, timeoutMs = 60_000): Promise<T> {
    return waitFor(
      `${this.name} logging ${key}`,
      () => {
        if (!this.running) throw new Error(`${this.name} exited: ${JSON.stringify(this.lines.slice(-5))}`);
        const line = this.lines.find((l) => l[key] !== undefined);
        return line ? { v: line[key] as T } : null;
      },
      timeoutMs,
    ).then((x) => x.v);
  }

  /** Waits for a log line with this message. */
  logged(msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return waitFor(
      `${this.name} logging "${msg}"`,
      () => {
        const line = this.lines.find((l) => l['msg'] === msg);
        // Said why at once rather than after the timeout (e.g. a port taken meanwhile).
        if (!line && !this.running)
          throw new Error(`${this.name} exited: ${JSON.stringify(this.lines.slice(-5))}`);
        return line;
      },
      timeoutMs,
    );
  }

  /** SIGKILL: no shutdown hook runs. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: a graceful stop. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
