// The demo's lifecycle: every part started is registered with its stop, and one shutdown
// stops them in reverse order, then exits. Triggers: SIGINT (Ctrl-C), SIGTERM, SIGHUP (the
// terminal closed), the parent going away (npm killed without passing the signal on), or a
// failure. The replay's requests are aborted first, so no request in flight turns into an
// unhandled error while the servers under it close.
import { setMaxListeners } from 'node:events';
import type { Logger } from '../../../common/src/logger.js';

interface Part {
  readonly name: string;
  readonly stop: () => Promise<void> | void;
}

const PARENT_CHECK_MS = 500;

export class Lifecycle {
  private readonly parts: Part[] = [];
  private stopping: Promise<never> | null = null;
  private readonly replay = new AbortController();

  constructor(
    private readonly log: Logger,
    private readonly write: (text: string) => void,
  ) {
    // Every request of the replay listens on it: no leak warning for that (0: no limit).
    setMaxListeners(0, this.replay.signal);
  }

  /** Aborted when the shutdown begins: pass it to every request of the replay. */
  get signal(): AbortSignal {
    return this.replay.signal;
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  add(name: string, stop: () => Promise<void> | void): void {
    this.parts.push({ name, stop });
  }

  /** Signals and the parent process end the demo cleanly. */
  install(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => void this.shutdown(0));
    }
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) void this.shutdown(0);
    }, PARENT_CHECK_MS);
    watch.unref();
  }

  shutdown(code: number): Promise<never> {
    this.stopping ??= this.stopAll(code);
    return this.stopping;
  }

  private async stopAll(code: number): Promise<never> {
    // Set now: once every server is closed Node may exit before the last await returns.
    process.exitCode = code;
    this.write('\nstopping…\n');
    this.replay.abort();
    for (const part of this.parts.reverse()) {
      try {
        await part.stop();
      } catch (err) {
        this.log.warn({ err, part: part.name }, 'stop failed');
      }
    }
    process.exit(code);
  }
}
