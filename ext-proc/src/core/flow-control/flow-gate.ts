// The one seam between the request path and flow control: the request lifecycle (ext_proc's
// stream processor and the bench's simulator alike) admits each request here instead of
// routing it directly. Off (no gate), requests are routed as before.
import type { PreparedRoute, WorkflowRouter } from '../routing/request-router.js';
import type { RouteDecision } from '../routing/route-decision.js';
import type { RouteInput } from '../routing/route-input.js';
import type { FlowAdmission, FlowController, FlowOutcome, FlowTicket } from './flow-controller.js';

export class FlowGate {
  constructor(
    private readonly router: WorkflowRouter,
    readonly controller: FlowController<PreparedRoute>,
    private readonly defaultOutputTokens: number,
  ) {}

  /** Routes, holds or sheds the request; `onLater` gets a held request's outcome. Throws what routing throws. */
  admit(input: RouteInput, tenant: string | null, onLater: (outcome: FlowOutcome) => void): FlowAdmission {
    const prepared = this.router.prepare(input);
    const r = prepared.request;
    const identity = input.identity;
    const output = r.outputExpected ?? r.maxTokens ?? this.defaultOutputTokens;
    try {
      return this.controller.admit(
        {
          prepared,
          tenant,
          workflow: identity?.workflow ?? null,
          session: identity ? `${identity.workflow}/${identity.session}` : null,
          bytes: input.llm.bodyBytes,
          parsed: input.llm.json,
          promptTokens: r.promptTokens,
          tokens: r.promptTokens + output,
          urgency: this.router.urgency(prepared),
        },
        onLater,
      );
    } catch (err) {
      this.router.abandon(prepared);
      throw err;
    }
  }

  cancel(ticket: FlowTicket): void {
    this.controller.cancel(ticket);
  }

  /** A request admitted here ended. */
  completed(decision: RouteDecision): void {
    this.controller.completed(decision);
  }

  /** The endpoints' load figures were scraped. */
  scraped(): void {
    this.controller.scraped();
  }
}
