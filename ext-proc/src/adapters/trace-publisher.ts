// Publishes completed workflow requests to the JetStream traces stream. Never blocks or
// fails a request: records wait in a bounded buffer (new ones are dropped and counted
// when it is full), are sent in batches with traceDedupeId (workflow/session and the
// request's exchange id) as Nats-Msg-Id, so a retry is stored once and requests that repeat
// a client's x-request-id are each stored; failures back off exponentially while NATS is
// away. Request starts go out on core NATS at once, or not at all while disconnected (the
// trace follows anyway).

import type { Logger } from '../../../common/src/logger.js';
import type { NatsLink } from '../../../common/src/nats/connection.js';
import { Backoff } from '../../../common/src/nats/backoff.js';
import { REQUEST_STARTS, TRACES } from '../../../core/src/wire/channels.js';
import { ensureStateStreams, type StreamLimits } from '../../../common/src/nats/setup.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import { type Trace, traceDedupeId } from '../../../core/src/wire/trace.js';
import type { TraceSink } from '../core/routing/request-router.js';

export interface TracePublisherMetrics {
  published(n: number): void;
  dropped(n: number): void;
  buffered(n: number): void;
}

const BATCH = 64;

export class NatsTracePublisher implements TraceSink {
  private readonly queue: Trace[] = [];
  private pumping = false;
  private readonly backoff = new Backoff({ settings: { initialMs: 100 } });
  private readonly stopping = new AbortController();
  private streamsReady = false;
  /** Called whenever the queue may have drained (flush() waits on it). */
  private readonly drainWaiters = new Set<() => void>();

  constructor(
    private readonly link: NatsLink,
    private readonly capacity: number,
    private readonly limits: StreamLimits,
    private readonly metrics: TracePublisherMetrics,
    private readonly log: Logger,
  ) {}

  publish(trace: Trace): void {
    if (this.queue.length >= this.capacity) {
      this.metrics.dropped(1);
      return;
    }
    this.queue.push(trace);
    this.metrics.buffered(this.queue.length);
    if (!this.pumping) void this.pump();
  }

  started(start: RequestStart): void {
    const nc = this.link.current;
    if (!nc || !this.link.connected || this.stopping.signal.aborted) return;
    try {
      nc.publish(REQUEST_STARTS.subject, REQUEST_STARTS.encode(start));
    } catch (err) {
      // A closing connection throws; the start is only an early hint.
      this.log.debug({ err }, 'request start not published');
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.stopping.signal.aborted) {
        const nc = await this.link.ready();
        if (!this.streamsReady) {
          try {
            await ensureStateStreams(nc, this.limits);
            this.streamsReady = true;
          } catch (err) {
            await this.fail(err, 'cannot create the traces stream');
            continue;
          }
        }
        const batch = this.queue.splice(0, BATCH);
        const js = nc.jetstream();
        const results = await Promise.allSettled(
          batch.map((t) =>
            js.publish(TRACES.subject, TRACES.encode(t), { msgID: traceDedupeId(t), timeout: 2000 }),
          ),
        );
        const failed = batch.filter((_, i) => results[i]?.status === 'rejected');
        this.metrics.published(batch.length - failed.length);
        if (failed.length > 0) {
          // Back to the front, oldest first; anything beyond capacity is dropped and counted.
          this.queue.unshift(...failed);
          const over = this.queue.length - this.capacity;
          if (over > 0) {
            this.queue.splice(this.capacity, over);
            this.metrics.dropped(over);
          }
          const firstError = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          if (/no responders|stream not found/i.test(String(firstError.reason))) this.streamsReady = false;
          await this.fail(firstError.reason, 'trace publish failed; will retry');
        } else {
          this.backoff.reset();
        }
        this.metrics.buffered(this.queue.length);
        this.notifyDrain();
      }
    } finally {
      this.pumping = false;
      this.notifyDrain();
    }
  }

  private notifyDrain(): void {
    for (const wake of this.drainWaiters) wake();
  }

  /**
   * Waits until every buffered trace is published, or `timeoutMs` passed (a graceful stop:
   * the records are not lost to the stop itself). Returns how many are still buffered.
   */
  async flush(timeoutMs: number): Promise<number> {
    if (this.queue.length > 0 && !this.pumping && !this.stopping.signal.aborted) void this.pump();
    const deadline = performance.now() + timeoutMs;
    while (this.queue.length > 0 || this.pumping) {
      const left = deadline - performance.now();
      if (left <= 0 || this.stopping.signal.aborted) break;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.drainWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.drainWaiters.add(done);
      });
    }
    if (this.queue.length > 0)
      this.log.warn({ buffered: this.queue.length }, 'stopping with traces not yet published');
    return this.queue.length;
  }

  private async fail(err: unknown, message: string): Promise<void> {
    const retryMs = this.backoff.next();
    this.log.warn({ err, retry_ms: retryMs, buffered: this.queue.length }, message);
    await this.backoff.sleep(retryMs, this.stopping.signal);
  }

  stop(): void {
    this.stopping.abort();
  }
}
