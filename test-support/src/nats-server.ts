// Starts a private nats-server (JetStream on, temporary store) for a test, so tests never
// depend on a shared server. nats-server picks its own free port (-p -1) and reports it in a
// ports file, so no other process can take the port between choosing and binding it.
// Restartable on the same port and store.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function natsServerAvailable(): boolean {
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The client port from nats-server's ports file: {"nats":["nats://127.0.0.1:PORT"],...}. */
function reportedPort(file: string): number {
  let urls: unknown;
  try {
    urls = (JSON.parse(readFileSync(file, 'utf8')) as { nats?: unknown }).nats;
  } catch {
    return 0; // still being written
  }
  const url = Array.isArray(urls) && typeof urls[0] === 'string' ? urls[0] : '';
  return Number(/:(\d+)$/.exec(url)?.[1] ?? 0);
}

export interface NatsServerOptions {
  /**
   * Its own process group: a terminal's Ctrl-C reaches only our process, which then stops
   * the server itself, after the services that use it (npm start).
   */
  readonly ownProcessGroup?: boolean;
}

export class TestNatsServer {
  private child: ChildProcess | null = null;
  private crashListener: ((code: number | null) => void) | null = null;
  /** 0 until the first start has reported the port nats-server chose. */
  private chosenPort = 0;
  private constructor(
    private readonly dir: string,
    private readonly options: NatsServerOptions,
  ) {}

  static async start(options: NatsServerOptions = {}): Promise<TestNatsServer> {
    const server = new TestNatsServer(mkdtempSync(join(tmpdir(), 'pythia-nats-')), options);
    try {
      await server.launch();
    } catch (err) {
      await server.stop(); // no orphan process, no temp store left behind
      throw err;
    }
    return server;
  }

  get port(): number {
    return this.chosenPort;
  }

  /** Calls back if the server exits without being asked to (a crash). */
  onUnexpectedExit(listener: (code: number | null) => void): void {
    this.crashListener = listener;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const port = this.chosenPort === 0 ? '-1' : String(this.chosenPort);
    const args = ['-a', '127.0.0.1', '-p', port, '-js', '-sd', join(this.dir, 'store')];
    const child = spawn('nats-server', [...args, '--ports_file_dir', this.dir], {
      stdio: 'ignore',
      detached: this.options.ownProcessGroup === true,
    });
    this.child = child;
    // kill() clears this.child first, so only an exit nobody asked for reaches the listener.
    child.once('exit', (code) => {
      if (this.child === child) this.crashListener?.(code);
    });
    const portsFile = join(this.dir, `nats-server_${child.pid}.ports`);
    // Polled until it listens; the deadline is only a safety net for a loaded machine.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`nats-server exited (code ${child.exitCode}) before it was ready`);
      if (this.chosenPort === 0 && existsSync(portsFile)) this.chosenPort = reportedPort(portsFile);
      if (this.chosenPort !== 0 && (await portOpen(this.chosenPort))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('nats-server did not start listening');
  }

  /** Stops the server (its store is kept for a restart). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
