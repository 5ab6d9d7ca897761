// A lean ext_proc client for the cardinality flood: Envoy's message sequence for one HTTP
// exchange (request headers with protocol_config, the buffered request body, the response
// headers, the streamed response body), each message sent after the previous answer as
// Envoy does, on plain node:http2 streams with pre-encoded protobuf frames, many streams at
// once on each connection. The Envoy-faithful test client (grpc-js, every answer applied
// and checked) costs more CPU per exchange than the service it drives (profiled: ~1.5x),
// so on a small machine it, not the service, was the flood's limit. Here each answer is
// only checked to be the expected phase's, not an immediate response, and the stream to
// end with grpc-status 0. A connection the server recycles (GOAWAY) is replaced, as Envoy
// replaces it.
import * as http2 from 'node:http2';
import type protobuf from 'protobufjs';
import { envoyProtoRoot, EXT_PROC_SERVICE } from '../../../common/src/proto.js';

type Fields = Record<string, unknown>;

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;

function messageTypes(): { request: protobuf.Type; response: protobuf.Type } {
  const root = envoyProtoRoot();
  types ??= {
    request: root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest'),
    response: root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse'),
  };
  return types;
}

/** One ProcessingRequest as a gRPC length-prefixed frame. */
export function frame(message: Fields): Buffer {
  const t = messageTypes().request;
  const payload = t.encode(t.fromObject(message)).finish();
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

function headerMap(pairs: ReadonlyArray<readonly [string, string]>): Fields {
  return { headers: pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

/** The four frames of one exchange, in Envoy's order, with the phase each answer must be. */
export interface Exchange {
  readonly frames: readonly Buffer[];
}

const REFUSED = 'refused';

const PHASES = ['request_headers', 'request_body', 'response_headers', 'response_body'] as const;

/** An exchange's frames: request headers and body per request; the response side shared. */
export function exchangeFrames(
  headers: ReadonlyArray<readonly [string, string]>,
  body: Buffer,
  response: { headers: Buffer; body: Buffer },
): Exchange {
  return {
    frames: [
      frame({
        request_headers: { headers: headerMap(headers), end_of_stream: body.length === 0 },
        protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'STREAMED' },
      }),
      frame({ request_body: { body, end_of_stream: true } }),
      response.headers,
      response.body,
    ],
  };
}

/** The shared response-side frames of an upstream answer. */
export function responseFrames(
  status: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body: Buffer,
): { headers: Buffer; body: Buffer } {
  return {
    headers: frame({
      response_headers: {
        headers: headerMap([[':status', String(status)], ...headers]),
        end_of_stream: false,
      },
    }),
    body: frame({ response_body: { body, end_of_stream: true } }),
  };
}

/** Splits a gRPC byte stream into messages. */
class Deframer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onMessage: (payload: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) return;
      onMessage(this.pending.subarray(5, 5 + length));
      this.pending = this.pending.subarray(5 + length);
    }
  }
}

/** One HTTP/2 connection to ext_proc, replaced when the server recycles or drops it. */
export class H2ExtProcConnection {
  private session: http2.ClientHttp2Session | null = null;
  /** Connections opened (1 + replacements after GOAWAY). */
  opened = 0;

  constructor(
    private readonly target: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private current(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
    const fresh = http2.connect(`http://${this.target}`);
    this.opened++;
    const retire = (): void => {
      if (this.session === fresh) this.session = null;
    };
    // GOAWAY: streams already open finish; new ones go on a new connection.
    fresh.on('goaway', retire);
    fresh.on('close', retire);
    fresh.on('error', retire);
    this.session = fresh;
    return fresh;
  }

  /** Streams the server refused unprocessed (opened as it recycled the connection), retried. */
  refused = 0;

  /**
   * Runs the exchange; resolves with null when it went as Envoy expects, else why not. A
   * stream refused before any answer (REFUSED_STREAM: the server never processed it, as
   * when it arrives while the connection is being recycled) is retried on a fresh
   * connection, as an HTTP/2 client may safely do.
   */
  async run(exchange: Exchange): Promise<string | null> {
    for (let attempt = 0; ; attempt++) {
      const why = await this.once(exchange);
      if (why !== REFUSED || attempt >= 3) return why;
      this.refused++;
    }
  }

  private once(exchange: Exchange): Promise<string | null> {
    const response = messageTypes().response;
    return new Promise((resolve) => {
      let settled = false;
      let answered = 0;
      let failure: string | null = null;
      const stream = this.current().request({
        ':method': 'POST',
        ':path': `/${EXT_PROC_SERVICE}/Process`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const timer = setTimeout(() => finish('timeout'), this.timeoutMs);
      const finish = (why: string | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve(why);
      };
      const deframer = new Deframer();
      stream.on('data', (chunk: Buffer) =>
        deframer.push(chunk, (payload) => {
          const phase = PHASES[answered];
          const answer = response.decode(payload) as unknown as Fields;
          answered++;
          if (answer['immediate_response']) failure ??= 'immediate_response';
          else if (phase === undefined || !answer[phase]) failure ??= `unexpected answer to ${phase}`;
          const next = exchange.frames[answered];
          if (failure === null && next) stream.write(next);
        }),
      );
      // A trailers-only answer (an error before any message) carries the status in the headers.
      stream.on('response', (headers) => {
        const status = headers['grpc-status'];
        if (status !== undefined && status !== '0') failure ??= `grpc-status ${String(status)}`;
      });
      stream.on('trailers', (trailers) => {
        const status = trailers['grpc-status'];
        if (status !== '0') failure ??= `grpc-status ${String(status)} ${String(trailers['grpc-message'])}`;
        else if (answered < exchange.frames.length) failure ??= `ended after ${answered} answers`;
      });
      // The server ends the stream with OK after the last answer; Envoy then half-closes.
      stream.on('end', () => stream.end());
      stream.on('close', () =>
        finish(failure ?? (answered < exchange.frames.length ? 'closed early' : null)),
      );
      stream.on('error', (err: Error) => {
        const refused = (err as { code?: string }).code === 'ERR_HTTP2_STREAM_ERROR' && answered === 0;
        finish(refused && /REFUSED_STREAM/.test(err.message) ? REFUSED : `stream error ${err.message}`);
      });
      stream.write(exchange.frames[0]);
    });
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}
