// grpc-js edge of the ext_proc service: one StreamProcessor per stream, answers written
// in order, and Envoy's end-then-cancel close treated as the normal end it is.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../common/src/logger.js';
import { extProcServiceDefinition } from '../../../common/src/proto.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../common/src/envoy/ext-proc-messages.js';
import type { StreamProcessor } from '../core/envoy/stream-processor.js';
import type { ExtProcMetrics } from './metrics.js';

export interface ExtProcHandlerOptions {
  readonly newProcessor: () => StreamProcessor;
  readonly metrics: ExtProcMetrics;
  readonly log: Logger;
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

function isNormalClose(err: unknown): boolean {
  const code = (err as { code?: number } | null)?.code;
  return code === grpc.status.CANCELLED;
}

export function processHandler(options: ExtProcHandlerOptions): (call: ProcessCall) => void {
  const { metrics, log } = options;
  return (call) => {
    metrics.streamsTotal.inc();
    metrics.streamsActive.inc();
    const processor = options.newProcessor();
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
      processor.close();
      metrics.streamsActive.dec();
    };
    call.on('data', (message: ProcessingRequest) => {
      if (closed) return;
      let answers: ProcessingResponse[];
      const started = performance.now();
      try {
        answers = processor.handle(message);
      } catch (err) {
        // A bug of ours must not fail the request: closing with OK makes Envoy continue
        // the request unmodified.
        logFor().error({ err }, 'stream processing failed; letting the request continue unmodified');
        metrics.streamErrorsTotal.inc();
        close();
        call.end();
        return;
      }
      for (const answer of answers) {
        if (call.cancelled || call.writableEnded) return;
        call.write(answer);
      }
      metrics.messageSeconds.observe((performance.now() - started) / 1000);
      if (processor.finished) {
        // Nothing more is expected: end with OK now (see StreamProcessor.finished).
        close();
        call.end();
      }
    });
    call.on('end', () => {
      // Envoy half-closes, then resets: finish our side with OK; the reset that follows is harmless.
      close();
      if (!call.writableEnded && !call.cancelled) call.end();
    });
    call.on('cancelled', close);
    call.on('error', (err: unknown) => {
      if (!isNormalClose(err)) {
        metrics.streamErrorsTotal.inc();
        logFor().warn({ err }, 'ext_proc stream error');
      }
      close();
    });
  };
}

export function addExtProcService(server: grpc.Server, options: ExtProcHandlerOptions): void {
  server.addService(extProcServiceDefinition(), {
    Process: processHandler(options) as grpc.handleBidiStreamingCall<unknown, unknown>,
  });
}
