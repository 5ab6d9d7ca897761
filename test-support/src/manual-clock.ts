// A clock that moves only when a test advances it: idle timeouts, grace periods, rebuild
// intervals, TTLs and staleness bounds then expire exactly when the test says, however busy
// the machine is. It starts at the real time so wall-clock fields look like real ones.
// `now` serves the services' unix-millisecond clocks (profiler, autoscaler); `now` and
// `wallNow` together are ext-proc's Clock.
export class ManualClock {
  private ms: number;

  constructor(startUnixMs = Date.now()) {
    this.ms = startUnixMs;
  }

  readonly now = (): number => this.ms;
  readonly wallNow = (): number => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }
}
