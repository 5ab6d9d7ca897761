// Bounds that hold across all ext_proc streams of one process: the request-body bytes
// buffered at once (a shared budget every stream draws from), and the idle and total
// deadlines after which a stream nobody finishes is reaped. Pure: the adapter passes the
// time and acts on what sweep() returns.
import { PythiaError } from '../../../../core/src/errors.js';

/** Request-body bytes buffered across streams; a stream that cannot reserve is refused. */
export interface BodyBudget {
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
}

export class SharedBodyBudget implements BodyBudget {
  private used = 0;

  constructor(private readonly capacity: number) {}

  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get bytes(): number {
    return this.used;
  }
}

/** No shared bound (tests of the state machine alone). */
export const UNBOUNDED_BODY_BUDGET: BodyBudget = { tryReserve: () => true, release: () => {} };

/** The shared budget is spent: retryable, so 503 rather than the request's own 413. */
export function bufferFullError(): PythiaError {
  return new PythiaError(
    'overloaded',
    503,
    'service_unavailable',
    'buffer_full',
    'too many request bodies are being buffered; retry shortly',
  );
}

export type StreamDeadline = 'idle_timeout' | 'total_timeout';

export interface StreamDeadlines {
  /** Longest gap between two messages of one stream. */
  readonly idleMs: number;
  /** Longest life of one stream. */
  readonly totalMs: number;
}

interface Entry {
  readonly startedMs: number;
  lastMs: number;
}

/** The open streams with their activity times; sweep() names the ones past a deadline. */
export class StreamTable<T> {
  private readonly streams = new Map<T, Entry>();

  constructor(private readonly deadlines: StreamDeadlines) {}

  open(stream: T, nowMs: number): void {
    this.streams.set(stream, { startedMs: nowMs, lastMs: nowMs });
  }

  touch(stream: T, nowMs: number): void {
    const entry = this.streams.get(stream);
    if (entry) entry.lastMs = nowMs;
  }

  close(stream: T): void {
    this.streams.delete(stream);
  }

  get size(): number {
    return this.streams.size;
  }

  /** Removes and returns the streams past a deadline, with the deadline each passed. */
  sweep(nowMs: number): Array<[T, StreamDeadline]> {
    const expired: Array<[T, StreamDeadline]> = [];
    for (const [stream, entry] of this.streams) {
      if (nowMs - entry.startedMs >= this.deadlines.totalMs) expired.push([stream, 'total_timeout']);
      else if (nowMs - entry.lastMs >= this.deadlines.idleMs) expired.push([stream, 'idle_timeout']);
    }
    for (const [stream] of expired) this.streams.delete(stream);
    return expired;
  }
}
