// grpc-js edge of the ext_proc service: one StreamProcessor per stream, answers written
// in order, Envoy's end-then-cancel close treated as the normal end it is, and streams
// nobody finishes reaped after their idle or total deadline.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../common/src/logger.js';
import { extProcServiceDefinition } from '../../../common/src/proto.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../common/src/envoy/ext-proc-messages.js';
import type { Clock } from '../../../core/src/clock.js';
import type { StreamProcessor } from '../core/envoy/stream-processor.js';
import { type StreamDeadlines, StreamTable } from '../core/envoy/stream-hygiene.js';
import type { ExtProcMetrics } from './metrics.js';

export interface ExtProcHandlerOptions {
  readonly newProcessor: () => StreamProcessor;
  readonly metrics: ExtProcMetrics;
  readonly log: Logger;
  /** Idle and total deadlines per stream, read against `clock`. */
  readonly deadlines: StreamDeadlines;
  readonly clock: Clock;
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

function isNormalClose(err: unknown): boolean {
  const code = (err as { code?: number } | null)?.code;
  return code === grpc.status.CANCELLED;
}

/** The streams being served; sweep() ends those past a deadline. */
export class ExtProcStreams {
  readonly table: StreamTable<() => void>;

  constructor(private readonly options: ExtProcHandlerOptions) {
    this.table = new StreamTable(options.deadlines);
  }

  /** Ends every stream past its idle or total deadline; returns how many. */
  sweep(): number {
    const expired = this.table.sweep(this.options.clock.now());
    for (const [expire, reason] of expired) {
      this.options.metrics.streamErrorsTotal.inc({ reason });
      expire();
    }
    return expired.length;
  }

  handler(): (call: ProcessCall) => void {
    const { metrics, log, clock } = this.options;
    return (call) => {
      metrics.streamsTotal.inc();
      metrics.streamsActive.inc();
      const processor = this.options.newProcessor();
      let closed = false;
      // A child logger per stream, created only when something is logged.
      let streamLog: Logger | undefined;
      const logFor = (): Logger => {
        streamLog ??= log.child({ request_id: processor.id || undefined });
        return streamLog;
      };
      const close = (): void => {
        if (closed) return;
        closed = true;
        this.table.close(expire);
        processor.close();
        metrics.streamsActive.dec();
      };
      const endWithOk = (): void => {
        close();
        // Writes after Envoy's reset, or a second end, must be harmless.
        if (!call.writableEnded && !call.cancelled) call.end();
      };
      // Past a deadline the stream ends with OK: if Envoy is still there it continues the
      // request unmodified; the request is recorded as cancelled.
      const expire = endWithOk;
      this.table.open(expire, clock.now());
      call.on('data', (message: ProcessingRequest) => {
        if (closed) return;
        this.table.touch(expire, clock.now());
        let answers: ProcessingResponse[];
        const started = performance.now();
        try {
          answers = processor.handle(message);
        } catch (err) {
          // A bug of ours must not fail the request: closing with OK makes Envoy continue
          // the request unmodified.
          logFor().error({ err }, 'stream processing failed; letting the request continue unmodified');
          metrics.streamErrorsTotal.inc({ reason: 'internal' });
          endWithOk();
          return;
        }
        for (const answer of answers) {
          if (call.cancelled || call.writableEnded) return;
          call.write(answer);
        }
        metrics.messageSeconds.observe((performance.now() - started) / 1000);
        // Nothing more is expected: end with OK now (see StreamProcessor.finished).
        if (processor.finished) endWithOk();
      });
      // Envoy half-closes, then resets: finish our side with OK; the reset that follows is harmless.
      call.on('end', endWithOk);
      call.on('cancelled', close);
      call.on('error', (err: unknown) => {
        if (!isNormalClose(err)) {
          metrics.streamErrorsTotal.inc({ reason: 'transport' });
          logFor().warn({ err }, 'ext_proc stream error');
        }
        close();
      });
    };
  }
}

export function addExtProcService(server: grpc.Server, options: ExtProcHandlerOptions): ExtProcStreams {
  const streams = new ExtProcStreams(options);
  server.addService(extProcServiceDefinition(), {
    Process: streams.handler() as grpc.handleBidiStreamingCall<unknown, unknown>,
  });
  return streams;
}
