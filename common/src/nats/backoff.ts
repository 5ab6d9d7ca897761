// Waiting between attempts at something NATS-bound (connect, watch, consume, publish):
// exponential backoff with jitter, so replicas that lost NATS together do not come back in
// lockstep, and a stop signal that cuts a wait short, so a shutdown never sits out a
// backoff. The timer and the randomness are injected: tests run the loops without sleeping.

export interface BackoffSettings {
  /** First wait after a failure. */
  readonly initialMs: number;
  /** Longest wait. */
  readonly maxMs: number;
  /** Share of each wait drawn at random: a wait of d is taken in [d * (1 - jitter), d]. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 250, maxMs: 5000, jitter: 0.2 };

/** Sleeps `ms`, or less when `signal` aborts first; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export interface BackoffOptions {
  readonly settings?: Partial<BackoffSettings>;
  readonly sleep?: Sleep;
  /** In [0,1); Math.random by default. */
  readonly random?: () => number;
}

export class Backoff {
  private readonly settings: BackoffSettings;
  private readonly sleepFor: Sleep;
  private readonly random: () => number;
  private nextMs: number;

  constructor(options: BackoffOptions = {}) {
    this.settings = { ...DEFAULT_BACKOFF, ...options.settings };
    this.sleepFor = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.nextMs = this.settings.initialMs;
  }

  /** The wait before the next attempt (jittered); each call doubles the following one, up to the cap. */
  next(): number {
    const base = this.nextMs;
    this.nextMs = Math.min(base * 2, this.settings.maxMs);
    return Math.round(base * (1 - this.settings.jitter * this.random()));
  }

  /** After a success: the next failure waits the initial delay again. */
  reset(): void {
    this.nextMs = this.settings.initialMs;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return this.sleepFor(ms, signal);
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Stops the loop: no new attempt starts, and a wait under way ends at once. */
  readonly signal: AbortSignal;
  /** Told of each failure with the wait before the next attempt (to log it). */
  readonly onError: (err: unknown, retryMs: number) => void;
}

/**
 * Runs `attempt` until it returns 'done' or `signal` aborts. An attempt that throws, or that
 * ends ('again': a subscription or watch closed under it), is retried after a backoff wait;
 * an attempt calls `healthy()` once it got going, so the next failure waits the initial delay.
 */
export async function retryWithBackoff(
  attempt: (healthy: () => void) => Promise<'done' | 'again'>,
  options: RetryOptions,
): Promise<void> {
  const backoff = new Backoff(options);
  const { signal } = options;
  while (!signal.aborted) {
    let wait: number;
    try {
      if ((await attempt(() => backoff.reset())) === 'done') return;
      wait = backoff.next();
    } catch (err) {
      if (signal.aborted) return;
      wait = backoff.next();
      options.onError(err, wait);
    }
    if (signal.aborted) return;
    await backoff.sleep(wait, signal);
  }
}
