// An ext_proc client that behaves like Envoy's ext_proc HTTP filter (1.32+), for tests,
// the bench and the demo gateway where no Envoy binary exists. It follows
// ../shared/envoy-ext-proc-facts.md: one stream per HTTP request, values in raw_value,
// protocol_config in the first message, a 200 ms timer per message (none for
// FULL_DUPLEX_STREAMED body chunks), strict response-kind checks, Envoy's mutation rules
// (clear_route_cache needs header_mutation; receiving namespaces filter metadata), and
// end() followed by cancel() to close.
import * as grpc from '@grpc/grpc-js';
import { extProcClientConstructor, httpStatusNumber } from '../../common/src/proto.js';
import type {
  BodySendMode,
  CommonResponse,
  HeaderValue,
  ProcessingRequest,
  ProcessingResponse,
  RequestKind,
  StructValue,
} from '../../common/src/envoy/ext-proc-messages.js';
import { responseKind } from '../../common/src/envoy/ext-proc-messages.js';
import { applyHeaderMutation, getHeader, type HeaderList } from './header-mutation.js';

export interface EnvoyFilterOptions {
  readonly requestBodyMode: BodySendMode;
  readonly responseHeaderMode: 'SEND' | 'SKIP';
  readonly responseBodyMode: BodySendMode;
  /** Envoy sends everything and expects no answer. */
  readonly observabilityMode: boolean;
  readonly messageTimeoutMs: number;
  /**
   * The filter's max_message_timeout: an answer carrying only override_message_timeout restarts
   * the message timer with its value when 1 ms <= value <= this; otherwise (and when 0, unset)
   * Envoy ignores it (stat override_message_timeout_ignored).
   */
  readonly maxMessageTimeoutMs: number;
  readonly failureModeAllow: boolean;
  readonly allowModeOverride: boolean;
  readonly receivingNamespaces: readonly string[];
  /** Envoy 1.33+ sends protocol_config in the first message. */
  readonly sendProtocolConfig: boolean;
  /** Not Envoy behaviour: a bound on FULL_DUPLEX_STREAMED waits so a broken server cannot hang a test. */
  readonly fullDuplexDeadlineMs: number;
}

export const DEFAULT_FILTER: EnvoyFilterOptions = {
  requestBodyMode: 'BUFFERED',
  responseHeaderMode: 'SEND',
  responseBodyMode: 'STREAMED',
  observabilityMode: false,
  messageTimeoutMs: 200,
  // As envoy/envoy.yaml sets it: flow control's queue TTL (60 s) plus a second.
  maxMessageTimeoutMs: 61_000,
  failureModeAllow: true,
  allowModeOverride: true,
  receivingNamespaces: ['envoy.lb'],
  sendProtocolConfig: true,
  fullDuplexDeadlineMs: 15_000,
};

/**
 * For tests: Envoy's filter with a message timer long enough that only a server that never
 * answers trips it. Tests check what ext_proc answers; how fast it answers is the bench's
 * to measure (a 200 ms timer fails open on a loaded machine and the test would see that).
 */
export const TEST_FILTER: EnvoyFilterOptions = { ...DEFAULT_FILTER, messageTimeoutMs: 30_000 };

export type Metadata = Record<string, Record<string, unknown>>;

/** A canned upstream answer for round trips. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: HeaderList;
  readonly chunks: readonly Buffer[];
}

export type RequestOutcome =
  | {
      readonly kind: 'continue';
      readonly headers: HeaderList;
      readonly body: Buffer;
      readonly dynamicMetadata: Metadata;
      /** True when a header mutation came with clear_route_cache: the route is recomputed. */
      readonly routeCleared: boolean;
      /** Set when ext_proc failed and fail-open let the request through unmodified. */
      readonly failedOpen: string | null;
    }
  | {
      readonly kind: 'local_reply';
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Buffer;
      readonly details: string;
      /** Set when the reply comes from Envoy itself (error, timeout), not from the server. */
      readonly envoyError: string | null;
    };

export type Response =
  { kind: 'response'; message: ProcessingResponse } | { kind: 'closed'; status: grpc.StatusObject | null };

type ExchangeState = 'active' | 'bypassed' | 'closed';

function structToObject(struct: StructValue | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) {
    const v = value as {
      stringValue?: string;
      structValue?: StructValue;
      numberValue?: number;
      boolValue?: boolean;
    };
    if (v.structValue) out[key] = structToObject(v.structValue);
    else if (v.stringValue !== undefined) out[key] = v.stringValue;
    else if (v.numberValue !== undefined) out[key] = v.numberValue;
    else if (v.boolValue !== undefined) out[key] = v.boolValue;
    else out[key] = null;
  }
  return out;
}

function toHeaderMap(headers: HeaderList): { headers: HeaderValue[] } {
  return { headers: headers.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

/** One HTTP request's ext_proc exchange: one gRPC stream. */
export class ExtProcExchange {
  private readonly call: grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
  private readonly queue: Response[] = [];
  private waiter: ((r: Response) => void) | null = null;
  private firstSent = false;
  private state: ExchangeState = 'active';
  private requestBodyMode: BodySendMode;
  private responseHeaderMode: 'SEND' | 'SKIP' | 'DEFAULT';
  private responseBodyMode: BodySendMode;
  private streamClosed: grpc.StatusObject | null = null;
  /** The last response message was exchanged (Envoy is about to finish the request). */
  private responseDone = false;
  private closing = false;
  /** Timer overrides received: the value, and whether Envoy's rules let it restart the timer. */
  readonly timerOverrides: Array<{ readonly ms: number; readonly applied: boolean }> = [];

  constructor(
    client: grpc.Client,
    private readonly options: EnvoyFilterOptions,
  ) {
    this.requestBodyMode = options.requestBodyMode;
    this.responseHeaderMode = options.responseHeaderMode;
    this.responseBodyMode = options.responseBodyMode;
    const method = (
      client as unknown as Record<
        string,
        () => grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>
      >
    )['Process'];
    if (!method) throw new Error('client has no Process method');
    this.call = method.call(client);
    this.call.on('data', (message: ProcessingResponse) => this.deliver({ kind: 'response', message }));
    this.call.on('status', (status: grpc.StatusObject) => {
      this.streamClosed = status;
      this.deliver({ kind: 'closed', status });
    });
    this.call.on('error', () => {
      // The status event carries the detail; cancellations after our close are expected.
    });
  }

  private deliver(r: Response): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter(r);
    } else {
      this.queue.push(r);
    }
  }

  /** Next message from the server, or `null` on timeout. */
  private next(timeoutMs: number): Promise<Response | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.streamClosed) return Promise.resolve({ kind: 'closed', status: this.streamClosed });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // Timers run before pending socket reads in Node's loop: let an answer that already
        // arrived while this process was busy be read first, so only a late server times out.
        setImmediate(() => {
          if (this.waiter !== onAnswer) return;
          this.waiter = null;
          resolve(null);
        });
      }, timeoutMs);
      const onAnswer = (r: Response): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiter = onAnswer;
    });
  }

  /**
   * Resolves when the server ends the stream (its status arrives after every message it
   * sent on it), or null if that takes longer than `timeoutMs`.
   */
  serverClosed(timeoutMs = 30_000): Promise<grpc.StatusObject | null> {
    if (this.streamClosed) return Promise.resolve(this.streamClosed);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.call.once('status', (status: grpc.StatusObject) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  }

  private send(message: ProcessingRequest): void {
    if (!this.firstSent && this.options.sendProtocolConfig) {
      message.protocol_config = {
        request_body_mode: this.options.requestBodyMode,
        response_body_mode: this.options.responseBodyMode,
      };
    }
    if (this.options.observabilityMode) message.observability_mode = true;
    this.firstSent = true;
    this.call.write(message);
  }

  /**
   * A failure of the ext_proc exchange (timeout, protocol error, error status): with
   * failure_mode_allow the request continues as it was and ext_proc is skipped from here
   * on; otherwise Envoy answers the client itself.
   */
  private fail(
    reason: string,
    status: number,
    original: { headers: HeaderList; body: Buffer },
  ): RequestOutcome {
    if (this.options.failureModeAllow) {
      this.state = 'bypassed';
      return {
        kind: 'continue',
        headers: original.headers,
        body: original.body,
        dynamicMetadata: {},
        routeCleared: false,
        failedOpen: reason,
      };
    }
    this.state = 'closed';
    return {
      kind: 'local_reply',
      status,
      headers: [],
      body: Buffer.from(reason),
      details: reason,
      envoyError: reason,
    };
  }

  /** Waits for the answer to a message of `kind`; returns it, or a failure description. */
  private async expect(
    kind: RequestKind,
    timeoutMs: number,
  ): Promise<
    | { ok: true; message: ProcessingResponse }
    | { ok: false; reason: string; status: number; cleanClose: boolean }
  > {
    let deadline = Date.now() + timeoutMs;
    let r = await this.next(timeoutMs);
    // Envoy handles a message carrying override_message_timeout on its own (nothing else in
    // it is read): the timer restarts with the new value when within [1 ms, max_message_timeout].
    while (r?.kind === 'response' && r.message.override_message_timeout) {
      const d = r.message.override_message_timeout;
      const ms = Number(d.seconds ?? 0) * 1000 + Math.floor(Number(d.nanos ?? 0) / 1_000_000);
      const applied = ms >= 1 && ms <= this.options.maxMessageTimeoutMs;
      this.timerOverrides.push({ ms, applied });
      // Ignored: the running timer goes on.
      if (applied) deadline = Date.now() + ms;
      r = await this.next(Math.max(0, deadline - Date.now()));
    }
    if (r === null)
      return {
        ok: false,
        reason: `ext_proc message timeout waiting for ${kind}`,
        status: 504,
        cleanClose: false,
      };
    if (r.kind === 'closed') {
      const ok = r.status?.code === grpc.status.OK;
      return {
        ok: false,
        reason: ok
          ? 'ext_proc server closed the stream'
          : `ext_proc stream failed: ${r.status?.details ?? 'unknown'}`,
        status: 500,
        cleanClose: ok,
      };
    }
    const got = responseKind(r.message);
    if (got !== kind && got !== 'immediate_response') {
      return {
        ok: false,
        reason: `protocol error: expected ${kind} response, got ${got ?? 'nothing'}`,
        status: 500,
        cleanClose: false,
      };
    }
    return { ok: true, message: r.message };
  }

  private localReply(message: ProcessingResponse): RequestOutcome {
    const immediate = message.immediate_response;
    const headers: HeaderList = [];
    applyHeaderMutation(headers, immediate?.headers);
    // A local reply ends the exchange: Envoy sends nothing more on this stream.
    this.responseDone = true;
    this.state = 'closed';
    return {
      kind: 'local_reply',
      status: httpStatusNumber(immediate?.status?.code as string | number | undefined) || 500,
      headers,
      body: immediate?.body ?? Buffer.alloc(0),
      details: immediate?.details ?? '',
      envoyError: null,
    };
  }

  private acceptMetadata(message: ProcessingResponse, into: Metadata): void {
    const fields = structToObject(message.dynamic_metadata);
    for (const [ns, value] of Object.entries(fields)) {
      if (this.options.receivingNamespaces.includes(ns) && value && typeof value === 'object') {
        into[ns] = { ...(into[ns] ?? {}), ...(value as Record<string, unknown>) };
      }
    }
  }

  /** Applies a CommonResponse's headers; reports whether the route cache was cleared. */
  private applyCommon(
    common: CommonResponse | undefined,
    headers: HeaderList,
  ): { ok: true; routeCleared: boolean } | { ok: false; reason: string } {
    if (!common) return { ok: true, routeCleared: false };
    const result = applyHeaderMutation(headers, common.header_mutation);
    if (!result.ok) return result;
    // Envoy honours clear_route_cache only alongside a header_mutation.
    return {
      ok: true,
      routeCleared: common.clear_route_cache === true && common.header_mutation !== undefined,
    };
  }

  /**
   * Runs the request side: headers, then the body as Envoy would send it in the
   * configured mode. Returns what goes upstream, or the local reply.
   */
  async processRequest(headersIn: HeaderList, bodyChunks: readonly Buffer[]): Promise<RequestOutcome> {
    const whole = bodyChunks.length === 1 ? (bodyChunks[0] as Buffer) : Buffer.concat(bodyChunks);
    const original = { headers: headersIn.map(([k, v]) => [k, v] as [string, string]), body: whole };
    const headers = original.headers.map(([k, v]) => [k, v] as [string, string]);
    const metadata: Metadata = {};
    let routeCleared = false;
    const hasBody = original.body.length > 0;
    const observing = this.options.observabilityMode;
    this.send({ request_headers: { headers: toHeaderMap(headers), end_of_stream: !hasBody } });

    if (this.requestBodyMode === 'FULL_DUPLEX_STREAMED') {
      // Body chunks go as they come, without waiting for the headers answer.
      if (hasBody) {
        bodyChunks.forEach((chunk, i) => {
          this.send({ request_body: { body: chunk, end_of_stream: i === bodyChunks.length - 1 } });
        });
      }
      return this.fullDuplexAnswers(original, headers, metadata, hasBody);
    }

    if (!observing) {
      const answer = await this.expect('request_headers', this.options.messageTimeoutMs);
      if (!answer.ok) return this.fail(answer.reason, answer.status, original);
      if (answer.message.immediate_response) return this.localReply(answer.message);
      const applied = this.applyCommon(answer.message.request_headers?.response, headers);
      if (!applied.ok) return this.fail(applied.reason, 500, original);
      routeCleared ||= applied.routeCleared;
      this.acceptMetadata(answer.message, metadata);
      const override = answer.message.mode_override;
      if (override && this.options.allowModeOverride) {
        if (override.request_body_mode !== undefined) this.requestBodyMode = override.request_body_mode;
        if (override.response_header_mode !== undefined)
          this.responseHeaderMode = override.response_header_mode;
        if (override.response_body_mode !== undefined) this.responseBodyMode = override.response_body_mode;
      }
    }

    let body: Buffer = original.body;
    if (hasBody && this.requestBodyMode === 'BUFFERED') {
      this.send({ request_body: { body: original.body, end_of_stream: true } });
      if (!observing) {
        const answer = await this.expect('request_body', this.options.messageTimeoutMs);
        if (!answer.ok) return this.fail(answer.reason, answer.status, original);
        if (answer.message.immediate_response) return this.localReply(answer.message);
        const common = answer.message.request_body?.response;
        if (common?.body_mutation?.streamed_response) {
          return this.fail('protocol error: streamed_response outside FULL_DUPLEX_STREAMED', 500, original);
        }
        const applied = this.applyCommon(common, headers);
        if (!applied.ok) return this.fail(applied.reason, 500, original);
        routeCleared ||= applied.routeCleared;
        this.acceptMetadata(answer.message, metadata);
        const mutation = common?.body_mutation;
        if (mutation?.body !== undefined) body = mutation.body;
        else if (mutation?.clear_body) body = Buffer.alloc(0);
        if (body !== original.body) {
          const declared = getHeader(headers, 'content-length');
          if (declared !== undefined && Number(declared) !== body.length) {
            return this.fail('body replaced without a matching content-length', 500, original);
          }
        }
      }
    } else if (hasBody && this.requestBodyMode === 'STREAMED') {
      for (let i = 0; i < bodyChunks.length; i++) {
        this.send({
          request_body: {
            body: bodyChunks[i] ?? Buffer.alloc(0),
            end_of_stream: i === bodyChunks.length - 1,
          },
        });
        if (observing) continue;
        const answer = await this.expect('request_body', this.options.messageTimeoutMs);
        if (!answer.ok) return this.fail(answer.reason, answer.status, original);
        if (answer.message.immediate_response) return this.localReply(answer.message);
      }
    }
    return { kind: 'continue', headers, body, dynamicMetadata: metadata, routeCleared, failedOpen: null };
  }

  private async fullDuplexAnswers(
    original: { headers: HeaderList; body: Buffer },
    headers: HeaderList,
    metadata: Metadata,
    hasBody: boolean,
  ): Promise<RequestOutcome> {
    const deadline = this.options.fullDuplexDeadlineMs;
    const answer = await this.expect('request_headers', deadline);
    if (!answer.ok) return this.fail(answer.reason, answer.status, original);
    if (answer.message.immediate_response) return this.localReply(answer.message);
    const applied = this.applyCommon(answer.message.request_headers?.response, headers);
    if (!applied.ok) return this.fail(applied.reason, 500, original);
    this.acceptMetadata(answer.message, metadata);
    if (!hasBody) {
      return {
        kind: 'continue',
        headers,
        body: Buffer.alloc(0),
        dynamicMetadata: metadata,
        routeCleared: applied.routeCleared,
        failedOpen: null,
      };
    }
    // Nothing reaches upstream until the server streams the body back.
    const parts: Buffer[] = [];
    for (;;) {
      const chunk = await this.expect('request_body', deadline);
      if (!chunk.ok) return this.fail(chunk.reason, chunk.status, original);
      if (chunk.message.immediate_response) return this.localReply(chunk.message);
      const streamed = chunk.message.request_body?.response?.body_mutation?.streamed_response;
      if (!streamed)
        return this.fail(
          'protocol error: FULL_DUPLEX_STREAMED body answer without streamed_response',
          500,
          original,
        );
      parts.push(streamed.body ?? Buffer.alloc(0));
      if (streamed.end_of_stream) break;
    }
    return {
      kind: 'continue',
      headers,
      body: Buffer.concat(parts),
      dynamicMetadata: metadata,
      routeCleared: applied.routeCleared,
      failedOpen: null,
    };
  }

  /** Sends the upstream's response headers; returns them as Envoy would forward them. */
  async processResponseHeaders(
    status: number,
    headersIn: HeaderList,
    endOfStream: boolean,
  ): Promise<{ headers: HeaderList; failedOpen: string | null; localReply?: RequestOutcome }> {
    const headers: HeaderList = [
      [':status', String(status)],
      ...headersIn.map(([k, v]) => [k, v] as [string, string]),
    ];
    if (endOfStream || this.responseBodyMode === 'NONE') this.responseDone = true;
    if (this.state !== 'active' || this.responseHeaderMode === 'SKIP') return { headers, failedOpen: null };
    this.send({ response_headers: { headers: toHeaderMap(headers), end_of_stream: endOfStream } });
    if (this.options.observabilityMode) return { headers, failedOpen: null };
    const answer = await this.expect('response_headers', this.options.messageTimeoutMs);
    if (!answer.ok) {
      const failed = this.fail(answer.reason, answer.status, { headers, body: Buffer.alloc(0) });
      return failed.kind === 'continue'
        ? { headers, failedOpen: answer.reason }
        : { headers, failedOpen: null, localReply: failed };
    }
    if (answer.message.immediate_response)
      return { headers, failedOpen: null, localReply: this.localReply(answer.message) };
    const result = applyHeaderMutation(headers, answer.message.response_headers?.response?.header_mutation);
    if (!result.ok) return { headers, failedOpen: result.reason };
    return { headers, failedOpen: null };
  }

  /** Sends one response body chunk; returns the bytes Envoy forwards downstream. */
  async processResponseBody(chunk: Buffer, endOfStream: boolean): Promise<Buffer> {
    if (endOfStream) this.responseDone = true;
    if (this.state !== 'active' || this.responseBodyMode === 'NONE') return chunk;
    this.send({ response_body: { body: chunk, end_of_stream: endOfStream } });
    if (this.options.observabilityMode) return chunk;
    const wait =
      this.responseBodyMode === 'FULL_DUPLEX_STREAMED'
        ? this.options.fullDuplexDeadlineMs
        : this.options.messageTimeoutMs;
    const answer = await this.expect('response_body', wait);
    if (!answer.ok) {
      this.fail(answer.reason, answer.status, { headers: [], body: chunk });
      return chunk;
    }
    const mutation = answer.message.response_body?.response?.body_mutation;
    if (this.responseBodyMode === 'FULL_DUPLEX_STREAMED')
      return mutation?.streamed_response?.body ?? Buffer.alloc(0);
    if (mutation?.body !== undefined) return mutation.body;
    if (mutation?.clear_body) return Buffer.alloc(0);
    return chunk;
  }

  /**
   * Envoy's close: half-close immediately followed by a reset. Envoy closes when the
   * downstream request is done, by which time a server that ended its side after the last
   * answer has had its status delivered; grpc-js then sends no RST_STREAM for the finished
   * stream, as Envoy's codec does not either. An exchange cut short resets at once.
   */
  close(): void {
    if (this.responseDone && !this.streamClosed && !this.closing) {
      this.closing = true;
      this.state = 'closed';
      const timer = setTimeout(() => this.endAndReset(), 20);
      this.call.once('status', () => {
        clearTimeout(timer);
        this.endAndReset();
      });
      return;
    }
    if (this.closing) return;
    this.closing = true;
    this.state = 'closed';
    this.endAndReset();
  }

  private endAndReset(): void {
    this.call.end();
    this.call.cancel();
  }
}

export class EnvoyExtProcClient {
  private readonly client: grpc.Client;

  constructor(
    target: string,
    readonly options: EnvoyFilterOptions = DEFAULT_FILTER,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    const Ctor = extProcClientConstructor();
    this.client = new Ctor(target, credentials, {
      'grpc.max_send_message_length': 512 * 1024 * 1024,
      'grpc.max_receive_message_length': 512 * 1024 * 1024,
      // Envoy's connection pool tries a new connection for the next stream after one failed,
      // without grpc-js's exponential reconnect backoff (1 s, 1.6 s, ... up to 120 s), which
      // would keep failing open for seconds after a restarted ext-proc is listening again.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 100,
    });
  }

  open(overrides: Partial<EnvoyFilterOptions> = {}): ExtProcExchange {
    return new ExtProcExchange(this.client, { ...this.options, ...overrides });
  }

  /** Request side only (headers and body), then close: what most tests need. */
  async processRequest(
    headers: HeaderList,
    body: Buffer | readonly Buffer[],
    overrides: Partial<EnvoyFilterOptions> = {},
  ): Promise<RequestOutcome> {
    const exchange = this.open(overrides);
    try {
      return await exchange.processRequest(
        headers,
        Buffer.isBuffer(body) ? (body.length > 0 ? [body] : []) : body,
      );
    } finally {
      exchange.close();
    }
  }

  /**
   * A whole HTTP exchange as Envoy runs it: request side, then (unless answered locally)
   * the upstream's response through the response side, then the close.
   */
  async roundTrip(
    headers: HeaderList,
    body: readonly Buffer[],
    upstream: UpstreamResponse,
    overrides: Partial<EnvoyFilterOptions> = {},
  ): Promise<{ request: RequestOutcome; status: number; body: Buffer }> {
    const exchange = this.open(overrides);
    try {
      const request = await exchange.processRequest(headers, body);
      if (request.kind === 'local_reply') return { request, status: request.status, body: request.body };
      const last = upstream.chunks.length - 1;
      const head = await exchange.processResponseHeaders(upstream.status, upstream.headers, last < 0);
      if (head.localReply?.kind === 'local_reply')
        return { request, status: head.localReply.status, body: head.localReply.body };
      const parts: Buffer[] = [];
      for (let i = 0; i <= last; i++)
        parts.push(await exchange.processResponseBody(upstream.chunks[i] as Buffer, i === last));
      return { request, status: upstream.status, body: Buffer.concat(parts) };
    } finally {
      exchange.close();
    }
  }

  /** The deadline only catches a server that never comes up; a busy machine can be slow. */
  waitForReady(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The cluster Envoy routes to with `cluster_header`: recomputed only if the route cache was cleared. */
export function routedCluster(
  original: HeaderList,
  outcome: RequestOutcome,
  clusterHeader: string,
): string | undefined {
  if (outcome.kind !== 'continue') return undefined;
  return getHeader(outcome.routeCleared ? outcome.headers : original, clusterHeader);
}
