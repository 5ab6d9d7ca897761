// Cache warming in the simulated cluster: the gateway core's warm requests (the next agent's
// system prompt and the session history, max_tokens 1) run on the chosen replica's engine
// like any request, and the core is told when each ends, as ext-proc's HTTP warm sender
// does. Counts the planner's decisions by outcome and the reservations that were hit.
import { NEUTRAL_PRIORITY } from '../../../ext-proc/src/core/routing/priority.js';
import type { RouterEvents } from '../../../ext-proc/src/core/routing/request-router.js';
import type { WarmOutcome, WarmPlan, WarmPlanner } from '../../../ext-proc/src/core/routing/warm-planner.js';
import type { EventQueue } from './event-queue.js';
import type { ReplicaFleet } from './replica-fleet.js';
import { type Run, blockHashes, textRuns } from './token-streams.js';

export class WarmTraffic implements RouterEvents {
  /** Warm requests sent. */
  sent = 0;
  /** Requests that landed on the endpoint reserved (warmed) for them. */
  hits = 0;
  /** Planner decisions by result (sent, or why skipped). */
  readonly outcomes: Record<string, number> = {};
  private seq = 0;

  constructor(
    private readonly fleet: ReplicaFleet,
    private readonly queue: EventQueue,
  ) {}

  warm(o: WarmOutcome): void {
    if (o.kind === 'warm') this.sent++;
    const reason = o.kind === 'warm' ? 'sent' : o.reason;
    this.outcomes[reason] = (this.outcomes[reason] ?? 0) + 1;
  }

  reservation(hit: boolean): void {
    if (hit) this.hits++;
  }

  /** Runs a warm of the core whose `planner` planned it (told when it ends). */
  send(plan: WarmPlan, planner: WarmPlanner): void {
    const replica = this.fleet.get(plan.endpoint);
    if (!replica) {
      planner.done(plan.endpoint);
      return;
    }
    // The messages are runText() pieces (system prompt, then history): recover the runs.
    const runs: Run[] = plan.messages.flatMap((m) => textRuns(m.content));
    const blocks = blockHashes(runs, replica.engine.profile.blockSize);
    this.fleet.submit(
      replica,
      {
        id: `warm-${this.seq++}`,
        promptBlocks: blocks,
        fullBlocks: blocks,
        promptTokens: runs[0]?.tokens ?? 1,
        outputTokens: 1,
        priority: plan.priority ?? NEUTRAL_PRIORITY,
        arrivalMs: this.queue.now,
      },
      { onFirst: () => {}, onDone: () => planner.done(plan.endpoint) },
    );
  }
}
