// grpc-js edge of the ext_proc service: one StreamProcessor per stream, answers written
// in order, Envoy's end-then-cancel close treated as the normal end it is, and streams
// nobody finishes reaped after their idle or total deadline.
import * as http2 from 'node:http2';
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
      // A request flow control held is answered when it is released (or shed), not per message.
      processor.onLater((answers) => {
        if (closed) return;
        this.table.touch(expire, clock.now());
        for (const answer of answers) {
          if (call.cancelled || call.writableEnded) return;
          call.write(answer);
        }
        if (processor.finished) endWithOk();
      });
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

/**
 * Node's HTTP/2 stack (nghttp2) closes a whole connection, every stream on it, once it has
 * received more than 1000 RST_STREAMs in a burst (refilled at 33/s; fixed in Node 20, which
 * has no option to raise it). Envoy resets a stream whenever its client goes away, so a
 * burst of disconnects would take the other requests on the connection down too. nghttp2
 * stops counting once the server has sent GOAWAY, so after `maxStreams` streams a
 * connection is sent a graceful GOAWAY (last stream id 2^31-1: every stream already opened
 * finishes normally) and the client (Envoy, grpc-js) opens a new one for the next streams.
 * No connection then ever counts more than `maxStreams` resets. Returns how many HTTP/2
 * servers were hooked (0: grpc-js internals changed; the reset test then fails).
 */
export function recycleConnectionsAfter(
  server: grpc.Server,
  maxStreams: number,
  onRecycle: () => void,
): number {
  // grpc-js keeps its HTTP/2 servers private; they exist once bindAsync has completed.
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return 0;
  for (const h2 of servers.keys()) {
    h2.on('session', (session: http2.ServerHttp2Session) => {
      let streams = 0;
      session.on('stream', () => {
        if (++streams !== maxStreams) return;
        onRecycle();
        try {
          session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        } catch {
          return; // already closing: nothing to recycle
        }
        // The closing GOAWAY (the last stream id actually received) follows once the client
        // has acknowledged a PING sent after the first: frames arrive in order, so every
        // stream it opened before it saw the GOAWAY has been received by then, and is served,
        // not refused. Streams still open then finish on their own.
        const closeSession = (): void => {
          if (!session.closed && !session.destroyed) session.close();
        };
        if (!session.ping(closeSession)) setTimeout(closeSession, 10_000).unref();
      });
    });
  }
  return servers.size;
}
