// Causal order from the learned workflow, where the conversation proves none. A request may
// arrive on one ext-proc replica while the end of the session's running request, served by
// another replica, is still on its way (events come about a millisecond late); when the
// next stage starts the instant the last one ends (a lead agent handed its sub-agents'
// results, which carry their answers but not their prompts), that request would join a stage
// that has in truth ended: a role the workflow never had (`searcher+writer`), no prediction,
// no priority, and other tie-breaks than the replica that saw the end. One replica alone
// never sees that: it knows its own requests' ends at once.
//
// So a request outside the stage's launch window, whose session has running requests that
// all ran on other replicas, starts a new stage when the learned model has this agent
// follow the current stage but has never seen it beside that stage's agents, nor that stage
// as wide (an engineer after an engineer): the running requests are taken as ended, as a
// conversation proof would take them (stages.ts), and the other replicas are told so with
// the request's start.
import type { IndexedModel } from '../../../../core/src/workflow/predictor.js';
import type { OrderMark } from '../../../../core/src/prompt/order-mark.js';
import type { LiveStages, StartOrder } from '../../../../core/src/workflow/stages.js';

/**
 * Whether a request of `agent` starting at `nowMs` follows the session's current stage rather
 * than joining it: every running request is another replica's (`localRunning` 0), it does not
 * start within the stage's launch window, and the model knows the agent after the stage but
 * not within it.
 */
export function followsStage(
  stages: LiveStages,
  agent: string,
  localRunning: number,
  model: IndexedModel,
  nowMs: number,
): boolean {
  if (stages.running === 0 || localRunning > 0 || stages.launchedWith(nowMs)) return false;
  const after = model.predict(stages.roles(), null);
  if (!after.nextAgents.some((t) => t.role === agent)) return false;
  const joined = stages.rolesJoined(agent);
  const role = joined[joined.length - 1] as string;
  // Joined, the stage would take a role or a width the workflow never had.
  return !model.predict(joined, null).known || stages.currentWidth + 1 > model.maxWidth(role);
}

/** `order` that also takes every running request of the session as ended (appended to its `proved`). */
export function endingRunning(order: {
  readonly mark: OrderMark | null;
  readonly proved: OrderMark[];
}): StartOrder {
  return { mark: order.mark, proves: () => true, proved: order.proved };
}
