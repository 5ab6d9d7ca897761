// One ext_proc stream = one HTTP request through Envoy. This state machine turns each
// ProcessingRequest into the responses Envoy expects (exactly one of the matching kind per
// message, except in observability mode and FULL_DUPLEX_STREAMED), and never throws:
// every failure becomes a well-formed answer. It is pure: time comes from `clock`, ids for
// requests without a usable x-request-id from `newRequestId`, and routing and observation
// go through the injected router and events. The request's timing and its completed record
// are the RequestLifecycle's, shared with the bench's simulator.
import type { Clock } from '../../../../core/src/clock.js';
import { BodyTooLargeError, InvalidRequestError, PythiaError } from '../../../../core/src/errors.js';
import type {
  BodySendMode,
  CommonResponse,
  HeaderValueOption,
  HttpBody,
  HttpHeaders,
  ProcessingRequest,
  ProcessingResponse,
} from '../../../../common/src/envoy/ext-proc-messages.js';
import { requestKind } from '../../../../common/src/envoy/ext-proc-messages.js';
import {
  type IdentityResolver,
  type IdentitySource,
  pythiaHeaderIdentity,
} from '../../../../core/src/identity/resolver.js';
import type { IdentifierRejection } from '../../../../core/src/workflow/identifiers.js';
import type { CompletedRequest } from '../routing/completed-request.js';
import type { FlowAdmission, FlowOutcome } from '../flow-control/flow-controller.js';
import type { FlowGate } from '../flow-control/flow-gate.js';
import { NO_USAGE, RequestLifecycle } from '../routing/request-lifecycle.js';
import type { RequestRouter, RouteDecision } from '../routing/route-decision.js';
import type { RouteInput } from '../routing/route-input.js';
import { decisionBody, decisionHeaders, lbMetadata, rawHeader } from './decision-mutation.js';
import { IDENTITY_HEADER } from './header-contract.js';
import { immediateError } from './immediate-response.js';
import { apiForPath, parseLlmRequest } from './openai-request.js';
import { type RequestHeaderView, readRequestHeaders } from './request-headers.js';
import { ResponseUsageCounter, clampUsage } from './response-usage.js';
import { type BodyBudget, UNBOUNDED_BODY_BUDGET, bufferFullError } from './stream-hygiene.js';

export interface ExtProcSettings {
  readonly headerNames: {
    readonly workflow: string;
    readonly session: string;
    readonly agent: string;
    readonly sessionEnd: string;
  };
  readonly maxIdentifierLength: number;
  readonly maxBodyBytes: number;
  readonly llmPaths: ReadonlySet<string>;
  readonly defaultRequestBodyMode: 'BUFFERED' | 'FULL_DUPLEX_STREAMED';
  readonly streamedChunkBytes: number;
  readonly maxResponseScanBytes: number;
  /** Generated text kept per workflow request for history warming (0: none). */
  readonly maxCapturedOutputChars: number;
  /** Output tokens a response of each pool can count at most (the request's max_tokens too). */
  readonly maxOutputTokens: ReadonlyMap<string, number>;
  /** The header naming the request's tenant (flow control's fairness); null: not read. */
  readonly tenantHeader: string | null;
  /**
   * BUFFERED mode: a request flow control holds restarts Envoy's message timer with this
   * (override_message_timeout; Envoy honours it up to the filter's max_message_timeout).
   */
  readonly heldMessageTimeoutMs: number;
}

/** Answers produced later than the message they answer (a held request's release). */
export type LaterAnswers = (answers: ProcessingResponse[]) => void;

/** A fresh id for a request that came without a usable one (unique among live requests). */
export type RequestIdSource = () => string;

export interface StreamEvents {
  spoofedHeader(name: string): void;
  invalidIdentifier(rejection: IdentifierRejection): void;
  /** Where a routed request's identity came from (with an identity resolver). */
  identityResolved?(source: IdentitySource): void;
  passThrough(reason: 'not_llm_route' | 'unsupported_body_mode'): void;
  decided(decision: RouteDecision, seconds: number): void;
  rejected(error: PythiaError): void;
  completed(record: CompletedRequest): void;
  /** A message Envoy would never send in this state; it was answered without changing state. */
  outOfOrder(kind: string): void;
}

type Phase = 'request_headers' | 'request_body' | 'held' | 'response' | 'done';

/** What a held request's answer is built from once flow control releases it. */
interface Pending {
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
  readonly identitySource: IdentitySource | null;
  readonly bodyEndsStream: boolean;
}

/** Envoy's x-request-id is a UUID; anything else is replaced so it is safe as a key. */
function safeRequestId(raw: string | null, newRequestId: RequestIdSource): string {
  if (raw && raw.length <= 128 && /^[A-Za-z0-9._:-]+$/.test(raw)) return raw;
  return newRequestId();
}

const EMPTY_COMMON: CommonResponse = {};

export class StreamProcessor {
  private phase: Phase = 'request_headers';
  private requestBodyMode: BodySendMode;
  private responseBodyMode: BodySendMode | null = null;
  private headers: RequestHeaderView | null = null;
  private readonly bodyChunks: Buffer[] = [];
  private bodyBytes = 0;
  private llmRoute = false;
  private readonly lifecycle: RequestLifecycle;
  private usage: ResponseUsageCounter | null = null;
  private requestId = '';
  private exchange = '';
  private exchangeOver = false;
  private responseStarted = false;
  private sawResponseBody = false;
  /** Bytes of bodyChunks reserved from the shared budget. */
  private reserved = 0;
  private later: LaterAnswers | null = null;
  private trailersPending = false;

  constructor(
    private readonly settings: ExtProcSettings,
    router: RequestRouter,
    private readonly events: StreamEvents,
    private readonly clock: Clock,
    private readonly newRequestId: RequestIdSource,
    private readonly budget: BodyBudget = UNBOUNDED_BODY_BUDGET,
    /** Null: only the Pythia headers identify workflow traffic. */
    private readonly identity: IdentityResolver | null = null,
    /** Flow control; null: every request is routed at once. */
    gate: FlowGate | null = null,
  ) {
    this.requestBodyMode = settings.defaultRequestBodyMode;
    this.lifecycle = new RequestLifecycle(router, clock, gate);
  }

  /** Where answers produced after handle() returned go (a held request's routing answer). */
  onLater(sink: LaterAnswers): void {
    this.later = sink;
  }

  /**
   * True once Envoy will send nothing more that needs us. The adapter then ends its side
   * of the stream: Envoy's closing reset then meets an already-closed stream instead of
   * counting against the HTTP/2 rapid-reset limit (nghttp2: 1000 burst, 33/s, fixed in
   * Node 20), which would otherwise tear down the whole connection every ~1000 requests.
   * Closing with OK is always safe: Envoy continues the request unmodified.
   */
  get finished(): boolean {
    return this.exchangeOver;
  }

  /** The request id, once the request headers have been seen. */
  get id(): string {
    return this.requestId;
  }

  /** Answers one message from Envoy. Never throws. */
  handle(message: ProcessingRequest): ProcessingResponse[] {
    if (message.protocol_config?.request_body_mode !== undefined) {
      this.requestBodyMode = message.protocol_config.request_body_mode;
    }
    if (message.protocol_config?.response_body_mode !== undefined) {
      this.responseBodyMode = message.protocol_config.response_body_mode;
    }
    const answers = this.dispatch(message);
    // Observability mode: Envoy expects no answer to anything; state is still tracked.
    return message.observability_mode === true ? [] : answers;
  }

  private dispatch(message: ProcessingRequest): ProcessingResponse[] {
    switch (requestKind(message)) {
      case 'request_headers':
        return this.onRequestHeaders(message.request_headers ?? {});
      case 'request_body':
        return this.onRequestBody(message.request_body ?? {});
      case 'request_trailers':
        return this.onRequestTrailers();
      case 'response_headers':
        return this.onResponseHeaders(message.response_headers ?? {});
      case 'response_body':
        return this.onResponseBody(message.response_body ?? {});
      case 'response_trailers':
        this.finish();
        this.exchangeOver = true;
        return [{ response_trailers: {} }];
      default:
        // A message with no known member: nothing to answer. Envoy never sends one.
        return [];
    }
  }

  /** The stream ended (Envoy's half-close and reset, or an error). Idempotent. */
  close(): void {
    // Held: the client went away; the request leaves flow control's queue at once.
    if (this.phase === 'held') this.lifecycle.abandon();
    if (this.phase !== 'done') this.finish(!this.responseMayBeComplete());
    this.phase = 'done';
    this.dropBody();
  }

  /**
   * Whether a stream that ends without the response's end may still have carried a whole
   * response: only when no body was seen and none was announced (body mode NONE, or an
   * Envoy before 1.33 that does not say). A response cut short is not traced as OK.
   */
  private responseMayBeComplete(): boolean {
    if (!this.responseStarted) return false;
    if (this.sawResponseBody) return false;
    return this.responseBodyMode === null || this.responseBodyMode === 'NONE';
  }

  private dropBody(): void {
    this.bodyChunks.length = 0;
    this.budget.release(this.reserved);
    this.reserved = 0;
  }

  private onRequestHeaders(msg: HttpHeaders): ProcessingResponse[] {
    if (this.headers !== null) {
      // One stream is one request: a second request_headers gets the plain answer Envoy
      // expects for the message kind, and is neither routed nor allowed to restart the
      // request (its reservation and its session's running count would leak).
      this.events.outOfOrder('request_headers');
      return [{ request_headers: { response: EMPTY_COMMON } }];
    }
    this.lifecycle.start();
    const names = this.settings.headerNames;
    const view = readRequestHeaders(
      msg.headers?.headers ?? [],
      new Set([
        names.workflow,
        names.session,
        names.agent,
        names.sessionEnd,
        ...(this.settings.tenantHeader ? [this.settings.tenantHeader] : []),
        ...(this.identity?.headerNames ?? []),
      ]),
    );
    this.headers = view;
    // The exchange's own id keys its trace and start whatever x-request-id the client sent
    // (clients may repeat one); a request without a usable x-request-id is named by it too.
    this.exchange = this.newRequestId();
    this.requestId = safeRequestId(view.requestId, () => this.exchange);
    for (const name of view.spoofed) this.events.spoofedHeader(name);
    const strip = view.spoofed.length > 0 ? { remove_headers: [...view.spoofed] } : undefined;

    this.llmRoute = view.method === 'POST' && this.settings.llmPaths.has(view.path);
    if (!this.llmRoute) {
      this.events.passThrough('not_llm_route');
      return [this.passThroughHeaders(strip)];
    }
    if (this.requestBodyMode !== 'BUFFERED' && this.requestBodyMode !== 'FULL_DUPLEX_STREAMED') {
      // STREAMED and the rest send headers upstream before the body: routing cannot use it.
      this.llmRoute = false;
      this.events.passThrough('unsupported_body_mode');
      return [this.passThroughHeaders(strip)];
    }
    if (msg.end_of_stream)
      return this.reject(new InvalidRequestError('request body is empty; expected a JSON object'));
    if (view.contentLength !== null && view.contentLength > this.settings.maxBodyBytes) {
      return this.reject(new BodyTooLargeError(this.settings.maxBodyBytes));
    }
    this.phase = 'request_body';
    if (this.requestBodyMode === 'FULL_DUPLEX_STREAMED') {
      // The headers answer carries the routing decision, so it waits for the whole body.
      return [];
    }
    // BUFFERED: Envoy holds the headers until the body answer, which carries the routing
    // mutation; here only spoofed headers go.
    return [
      {
        request_headers: {
          response: strip ? { header_mutation: strip, clear_route_cache: true } : EMPTY_COMMON,
        },
      },
    ];
  }

  private passThroughHeaders(strip: { remove_headers: string[] } | undefined): ProcessingResponse {
    this.phase = 'response';
    const response: CommonResponse = strip
      ? { header_mutation: strip, clear_route_cache: true }
      : EMPTY_COMMON;
    const answer: ProcessingResponse = { request_headers: { response } };
    if (this.requestBodyMode !== 'FULL_DUPLEX_STREAMED') {
      // Ask Envoy (when allow_mode_override is on) to skip the rest for this request; the
      // stream is ended right after, which makes Envoy continue unmodified either way.
      answer.mode_override = {
        request_body_mode: 'NONE',
        response_header_mode: 'SKIP',
        response_body_mode: 'NONE',
      };
      this.exchangeOver = true;
    }
    return answer;
  }

  private onRequestBody(msg: HttpBody): ProcessingResponse[] {
    const chunk = msg.body ?? Buffer.alloc(0);
    const endOfStream = msg.end_of_stream === true;
    if (this.phase !== 'request_body') {
      if (this.headers === null) this.events.outOfOrder('request_body');
      // Pass-through request whose body Envoy still sends (no mode override honoured).
      return this.echoBody('request_body', chunk, endOfStream);
    }
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.settings.maxBodyBytes)
      return this.reject(new BodyTooLargeError(this.settings.maxBodyBytes));
    if (chunk.length > 0) {
      if (!this.budget.tryReserve(chunk.length)) return this.reject(bufferFullError());
      this.reserved += chunk.length;
      this.bodyChunks.push(chunk);
    }
    if (!endOfStream) {
      // FULL_DUPLEX_STREAMED: keep buffering, answer nothing yet. BUFFERED_PARTIAL-like
      // delivery in BUFFERED mode: each message needs its answer.
      return this.requestBodyMode === 'FULL_DUPLEX_STREAMED'
        ? []
        : [{ request_body: { response: EMPTY_COMMON } }];
    }
    return this.decide(true);
  }

  private onRequestTrailers(): ProcessingResponse[] {
    if (this.phase === 'request_body') {
      // The body ended with trailers instead of an end_of_stream flag.
      const answers = this.decide(false);
      if (answers.some((a) => a.immediate_response)) return answers;
      // Held: the trailers' answer follows the body's, when the request is released.
      if (this.lifecycle.held) {
        this.trailersPending = true;
        return answers;
      }
      return [...answers, { request_trailers: {} }];
    }
    return [{ request_trailers: {} }];
  }

  /** Parses the buffered body, routes (or holds), and builds the routing answer for the current mode. */
  private decide(bodyEndsStream: boolean): ProcessingResponse[] {
    const body =
      this.bodyChunks.length === 1 ? (this.bodyChunks[0] as Buffer) : Buffer.concat(this.bodyChunks);
    this.dropBody();
    const view = this.headers as RequestHeaderView;
    const started = this.clock.now();
    let pending: Pending;
    let admission: FlowAdmission;
    try {
      const llm = parseLlmRequest(body, apiForPath(view.path));
      const names = this.settings.headerNames;
      const resolved = this.identity
        ? this.identity.resolve({ headers: view.wanted, path: view.path, json: llm.json })
        : pythiaHeaderIdentity(view.wanted, names, this.settings.maxIdentifierLength);
      for (const r of resolved.rejections) this.events.invalidIdentifier(r);
      const input: RouteInput = {
        llm,
        identity: resolved.identity,
        identitySource: resolved.source,
        requestId: this.requestId,
        exchange: this.exchange,
        sessionEnd: view.wanted.get(names.sessionEnd)?.toLowerCase() === 'true',
        ...(resolved.pendingRole ? { pendingRole: resolved.pendingRole } : {}),
      };
      pending = {
        body,
        json: llm.json,
        identitySource: this.identity ? resolved.source : null,
        bodyEndsStream,
      };
      const tenant = this.settings.tenantHeader
        ? (view.wanted.get(this.settings.tenantHeader) ?? null)
        : null;
      admission = this.lifecycle.admit(input, tenant, (outcome) => this.released(outcome, pending));
    } catch (err) {
      return this.reject(
        err instanceof PythiaError ? err : new InvalidRequestError('request could not be processed'),
      );
    }
    if (admission.kind === 'shed') return this.reject(admission.error);
    if (admission.kind === 'held') {
      this.phase = 'held';
      // BUFFERED: Envoy's message timer runs while we hold the body answer; restart it long
      // enough for the queue's TTL. FULL_DUPLEX_STREAMED has no message timer.
      if (this.requestBodyMode !== 'BUFFERED' || this.settings.heldMessageTimeoutMs <= 0) return [];
      const ms = this.settings.heldMessageTimeoutMs;
      return [
        {
          override_message_timeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
        },
      ];
    }
    return this.routed(admission.decision, pending, (this.clock.now() - started) / 1000);
  }

  /** Flow control released (or shed) a held request: its answers go out now. */
  private released(outcome: FlowOutcome, pending: Pending): void {
    if (this.phase !== 'held') return;
    let answers: ProcessingResponse[];
    try {
      answers =
        outcome.kind === 'routed' ? this.routed(outcome.decision, pending, 0) : this.reject(outcome.error);
    } catch (err) {
      answers = this.reject(
        err instanceof PythiaError ? err : new InvalidRequestError('request could not be processed'),
      );
    }
    if (this.trailersPending && !answers.some((a) => a.immediate_response))
      answers.push({ request_trailers: {} });
    this.later?.(answers);
  }

  /** The routing answer for a decision, in the current body mode. */
  private routed(decision: RouteDecision, pending: Pending, seconds: number): ProcessingResponse[] {
    const view = this.headers as RequestHeaderView;
    const { body, json, bodyEndsStream } = pending;
    const newBody = decisionBody(decision, body, json);
    const setHeaders: HeaderValueOption[] = decisionHeaders(decision);
    if (pending.identitySource !== null) {
      setHeaders.push(rawHeader(IDENTITY_HEADER, pending.identitySource));
      this.events.identityResolved?.(pending.identitySource);
    }
    this.events.decided(decision, seconds);
    this.phase = 'response';

    if (newBody && this.requestBodyMode === 'BUFFERED') {
      // Envoy answers 500 when a replaced body and content-length disagree.
      setHeaders.push(rawHeader('content-length', String(newBody.length)));
    }
    const mutation = {
      set_headers: setHeaders,
      ...(view.spoofed.length > 0 ? { remove_headers: [...view.spoofed] } : {}),
    };
    const dynamic_metadata = lbMetadata(decision);
    const routing: CommonResponse = { header_mutation: mutation, clear_route_cache: true };

    if (this.requestBodyMode === 'BUFFERED') {
      if (newBody) routing.body_mutation = { mutation: 'body', body: newBody };
      return [{ request_body: { response: routing }, dynamic_metadata }];
    }
    // FULL_DUPLEX_STREAMED: headers answer first, then the body streamed back in chunks.
    const out: ProcessingResponse[] = [{ request_headers: { response: routing }, dynamic_metadata }];
    const toSend = newBody ?? body;
    const size = this.settings.streamedChunkBytes;
    if (toSend.length === 0) {
      out.push(this.streamedBody('request_body', Buffer.alloc(0), bodyEndsStream));
    }
    for (let offset = 0; offset < toSend.length; offset += size) {
      const last = offset + size >= toSend.length;
      out.push(
        this.streamedBody('request_body', toSend.subarray(offset, offset + size), last && bodyEndsStream),
      );
    }
    return out;
  }

  private streamedBody(
    kind: 'request_body' | 'response_body',
    body: Buffer,
    endOfStream: boolean,
  ): ProcessingResponse {
    return {
      [kind]: {
        response: {
          body_mutation: {
            mutation: 'streamed_response',
            streamed_response: { body, end_of_stream: endOfStream },
          },
        },
      },
    };
  }

  private echoBody(
    kind: 'request_body' | 'response_body',
    chunk: Buffer,
    endOfStream: boolean,
  ): ProcessingResponse[] {
    const fullDuplex =
      (kind === 'request_body' ? this.requestBodyMode : this.responseBodyMode) === 'FULL_DUPLEX_STREAMED';
    if (fullDuplex) return [this.streamedBody(kind, chunk, endOfStream)];
    return [{ [kind]: { response: EMPTY_COMMON } }];
  }

  private reject(error: PythiaError): ProcessingResponse[] {
    this.events.rejected(error);
    this.phase = 'done';
    this.exchangeOver = true;
    this.dropBody();
    return [immediateError(error)];
  }

  private onResponseHeaders(msg: HttpHeaders): ProcessingResponse[] {
    if (this.responseStarted) {
      // A response has one status: a second one changes nothing.
      this.events.outOfOrder('response_headers');
      return [{ response_headers: { response: EMPTY_COMMON } }];
    }
    let httpStatus = 0;
    for (const h of msg.headers?.headers ?? []) {
      if (h.key === ':status') {
        httpStatus = Number(
          (h.raw_value && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : h.value) ?? 0,
        );
        break;
      }
    }
    this.lifecycle.responseStarted(httpStatus);
    this.responseStarted = true;
    const routed = this.lifecycle.input;
    if (routed) {
      const capture = routed.identity ? this.settings.maxCapturedOutputChars : 0;
      this.usage = new ResponseUsageCounter(this.settings.maxResponseScanBytes, capture);
    }
    // No body follows, or Envoy told us (protocol_config) it will not send the body.
    if (msg.end_of_stream || this.responseBodyMode === 'NONE') {
      this.finish();
      this.exchangeOver = true;
    }
    return [{ response_headers: { response: EMPTY_COMMON } }];
  }

  private onResponseBody(msg: HttpBody): ProcessingResponse[] {
    const chunk = msg.body ?? Buffer.alloc(0);
    this.sawResponseBody = true;
    if (chunk.length > 0) this.lifecycle.responseBytes();
    this.usage?.push(chunk);
    if (msg.end_of_stream) {
      this.finish();
      this.exchangeOver = true;
    }
    // Answered at once and unchanged, so tokens are never held back.
    return this.echoBody('response_body', chunk, msg.end_of_stream === true);
  }

  /** Completes the request once: the router and the events get its record. */
  private finish(cancelled = false): void {
    if (!this.lifecycle.open) return;
    const input = this.lifecycle.input as RouteInput;
    const pool = this.lifecycle.decision?.pool ?? '';
    const usage = clampUsage(
      this.usage?.finish() ?? NO_USAGE,
      input.llm.maxTokens,
      this.settings.maxOutputTokens.get(pool) ?? null,
    );
    const record: CompletedRequest | null = cancelled
      ? this.lifecycle.cancel(usage)
      : this.lifecycle.end(usage);
    if (record) this.events.completed(record);
  }
}
