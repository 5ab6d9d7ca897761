// The baseline: a raw grpc-js bidirectional server speaking the same ext_proc messages,
// answering each one with a pre-built response of the matching kind and the same shape
// as ours (routing headers, metadata) without parsing or deciding anything.
import type * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../../../common/src/proto.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../common/src/envoy/ext-proc-messages.js';
import { requestKind } from '../../../common/src/envoy/ext-proc-messages.js';

const raw = (key: string, value: string) => ({
  header: { key, raw_value: Buffer.from(value) },
  append: { value: false },
});

const ROUTING: ProcessingResponse = {
  request_body: {
    response: {
      header_mutation: {
        set_headers: [
          raw('x-pythia-cluster', 'pool-a'),
          raw('x-gateway-destination-endpoint', '127.0.0.1:8000'),
        ],
      },
      clear_route_cache: true,
    },
  },
  dynamic_metadata: {
    fields: {
      'envoy.lb': {
        structValue: {
          fields: { 'x-gateway-destination-endpoint': { stringValue: '127.0.0.1:8000,127.0.0.2:8000' } },
        },
      },
    },
  },
};

export function addEchoService(server: grpc.Server): void {
  server.addService(extProcServiceDefinition(), {
    Process: ((call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (message: ProcessingRequest) => {
        const kind = requestKind(message);
        if (kind === 'request_body') call.write(ROUTING);
        else if (kind) call.write({ [kind]: {} });
        // Like ours: end the stream once the response is complete.
        if (kind === 'response_body' && message.response_body?.end_of_stream) call.end();
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    }) as grpc.handleBidiStreamingCall<unknown, unknown>,
  });
}
