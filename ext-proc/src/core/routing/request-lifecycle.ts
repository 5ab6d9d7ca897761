// One routed request from its start to its end, timed with an injected clock. The ext_proc
// stream processor feeds it Envoy's messages and the bench's simulator its engine events;
// both get the same CompletedRequest from it, and the router hears of the end the same way.
import type { Clock } from '../../../../core/src/clock.js';
import type { CompletedRequest, CompletionStatus, UsageReport } from './completed-request.js';
import type { RequestRouter, RouteDecision } from './route-decision.js';
import type { RouteInput } from './route-input.js';
import type { FlowAdmission, FlowOutcome, FlowTicket } from '../flow-control/flow-controller.js';
import type { FlowGate } from '../flow-control/flow-gate.js';

/** The usage of a request whose response body was never seen. */
export const NO_USAGE: UsageReport = {
  outputTokens: 0,
  reported: false,
  promptTokens: null,
  cachedTokens: null,
  outputText: '',
};

export class RequestLifecycle {
  private startMs = 0;
  private startUnixMs = 0;
  /** Wall minus monotonic time, read once at the start (see end()). */
  private wallOffsetMs = 0;
  private responseMs = -1;
  private firstByteMs = -1;
  private status = 0;
  private routedInput: RouteInput | null = null;
  private routedDecision: RouteDecision | null = null;
  private ended = false;
  /** Held by flow control: the ticket to cancel it with. */
  private ticket: FlowTicket | null = null;
  /** Given up while held: a release that was already under way is ended at once. */
  private abandoned = false;

  constructor(
    private readonly router: RequestRouter,
    private readonly clock: Clock,
    /** Flow control; null: every request is routed at once. */
    private readonly gate: FlowGate | null = null,
  ) {}

  /** The request began (its headers arrived). */
  start(): void {
    this.startMs = this.clock.now();
    this.startUnixMs = this.clock.wallNow();
    this.wallOffsetMs = this.startUnixMs - this.startMs;
  }

  /** Routes the request. Throws what the router throws; the request then stays unrouted. */
  route(input: RouteInput): RouteDecision {
    const decision = this.router.route(input);
    this.routedInput = input;
    this.routedDecision = decision;
    return decision;
  }

  /**
   * Routes the request, or (with flow control) holds or sheds it. A held request's outcome
   * goes to `onLater` (never synchronously); cancelHeld() withdraws it. Throws what the
   * router throws.
   */
  admit(input: RouteInput, tenant: string | null, onLater: (outcome: FlowOutcome) => void): FlowAdmission {
    if (!this.gate) return { kind: 'routed', decision: this.route(input) };
    const admission = this.gate.admit(input, tenant, (outcome) => {
      this.ticket = null;
      if (outcome.kind === 'routed') {
        this.routedInput = input;
        this.routedDecision = outcome.decision;
        // The stream went away while the release was on its way: end it now, as cancelled.
        if (this.abandoned) {
          this.cancel(NO_USAGE);
          return;
        }
      }
      if (!this.abandoned) onLater(outcome);
    });
    if (admission.kind === 'routed') {
      this.routedInput = input;
      this.routedDecision = admission.decision;
    } else if (admission.kind === 'held') this.ticket = admission.ticket;
    return admission;
  }

  /** Held: whether flow control still holds the request. */
  get held(): boolean {
    return this.ticket !== null;
  }

  /** The request's stream went away: a held request leaves the queue at once. */
  abandon(): void {
    this.abandoned = true;
    if (this.ticket && this.gate) this.gate.cancel(this.ticket);
    this.ticket = null;
  }

  /** What was routed, once it was. */
  get input(): RouteInput | null {
    return this.routedInput;
  }

  get decision(): RouteDecision | null {
    return this.routedDecision;
  }

  /** Routed and not yet ended: end() or cancel() would yield a record. */
  get open(): boolean {
    return this.routedDecision !== null && !this.ended;
  }

  /** The upstream's response began with this HTTP status (0 when it had none). */
  responseStarted(httpStatus: number): void {
    this.responseMs = this.clock.now();
    this.status = httpStatus;
  }

  /** Response body bytes arrived; the first call marks the first token. */
  responseBytes(): void {
    if (this.firstByteMs < 0) this.firstByteMs = this.clock.now();
  }

  /** The response is complete: OK, or UPSTREAM_ERROR for an HTTP error status. */
  end(usage: UsageReport): CompletedRequest | null {
    return this.close(this.statusFromHttp(), usage);
  }

  /**
   * The exchange stopped early: CANCELLED, also when a successful response had begun (its
   * output was cut short, so its length must not be learnt); UPSTREAM_ERROR for an error one.
   */
  cancel(usage: UsageReport): CompletedRequest | null {
    return this.close(this.status >= 400 ? 'UPSTREAM_ERROR' : 'CANCELLED', usage);
  }

  private statusFromHttp(): CompletionStatus {
    return this.status >= 400 ? 'UPSTREAM_ERROR' : 'OK';
  }

  /** Builds the record once and reports it to the router; null when unrouted or already ended. */
  private close(status: CompletionStatus, usage: UsageReport): CompletedRequest | null {
    const input = this.routedInput;
    const decision = this.routedDecision;
    if (this.ended || !input || !decision) return null;
    this.ended = true;
    const end = this.clock.now();
    const start = this.startMs;
    const prediction = decision.prediction;
    const record: CompletedRequest = {
      requestId: input.requestId,
      exchange: input.exchange,
      identity: input.identity,
      sessionEnd: input.sessionEnd,
      model: input.llm.model,
      pool: decision.pool,
      endpoint: decision.endpoint,
      promptBytes: input.llm.bodyBytes,
      usage,
      queueMs: (this.responseMs < 0 ? end : this.responseMs) - start,
      firstTokenMs: (this.firstByteMs < 0 ? end : this.firstByteMs) - start,
      totalMs: end - start,
      startUnixMs: this.startUnixMs,
      // The wall time at the start carried forward by the monotonic clock: a wall-clock step
      // during the request cannot make it end before it started.
      endUnixMs: this.wallOffsetMs + end,
      status,
      httpStatus: this.status,
      predictedAgent: prediction?.nextAgents[0]?.role ?? '',
      predictedOutputTokens: prediction?.outputBound ?? 0,
      mode: prediction?.mode ?? '',
    };
    this.router.complete(decision, input, record);
    this.gate?.completed(decision);
    return record;
  }
}
