// The replay's progress bar: redrawn in place every half second, and drawn one last time
// when the replay ends, so its final frame agrees with the summary below it.
const WIDTH = 40;

export class ProgressBar {
  private done = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly total: number,
    private readonly outputTokens: () => number,
    private readonly write: (text: string) => void,
  ) {}

  start(everyMs = 500): void {
    this.timer = setInterval(() => this.draw(), everyMs);
    this.draw();
  }

  sessionDone(): void {
    this.done++;
  }

  frame(): string {
    const bar = '#'.repeat(Math.round((this.done / Math.max(1, this.total)) * WIDTH)).padEnd(WIDTH, '.');
    return `[${bar}] ${this.done}/${this.total} sessions, ${this.outputTokens()} output tokens`;
  }

  private draw(): void {
    this.write(`\r${this.frame()}`);
  }

  /** Stops redrawing; `final` draws the last frame first (not when the replay was cut short). */
  stop(final: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (final) this.write(`\r${this.frame()}\n`);
  }
}
