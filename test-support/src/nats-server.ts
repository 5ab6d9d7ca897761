// Starts a private nats-server (JetStream on, temporary store, free port) for a test, so
// tests never depend on a shared server. Restartable on the same port and store.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function natsServerAvailable(): boolean {
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
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
  private constructor(
    readonly port: number,
    private readonly storeDir: string,
    private readonly options: NatsServerOptions,
  ) {}

  static async start(options: NatsServerOptions = {}): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'pythia-nats-')), options);
    try {
      await server.launch();
    } catch (err) {
      await server.stop(); // no orphan process, no temp store left behind
      throw err;
    }
    return server;
  }

  /** Calls back if the server exits without being asked to (a crash). */
  onUnexpectedExit(listener: (code: number | null) => void): void {
    this.crashListener = listener;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir],
      { stdio: 'ignore', detached: this.options.ownProcessGroup === true },
    );
    this.child = child;
    // kill() clears this.child first, so only an exit nobody asked for reaches the listener.
    child.once('exit', (code) => {
      if (this.child === child) this.crashListener?.(code);
    });
    for (let i = 0; i < 100; i++) {
      if (await portOpen(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server did not start on port ${this.port}`);
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
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
