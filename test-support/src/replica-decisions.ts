// What the in-process replica agreement tests share: a learned coding workflow, four
// endpoints with warming on, the decision as Envoy gets it, and a completed request.
import { parseConfig } from '../../common/src/config/load.js';
import type { WorkflowModel } from '../../core/src/workflow/workflow-model.js';
import { buildOffline } from '../../profiler/src/core/offline-build.js';
import { CORE_CONFIG } from '../../profiler/test/support.js';
import { codingWorkload } from './workloads/agent-workloads.js';
import { synthesizeTraces } from './workloads/synthesize-traces.js';
import { decisionHeaders } from '../../ext-proc/src/core/envoy/decision-mutation.js';
import type { CompletedRequest } from '../../ext-proc/src/core/routing/completed-request.js';
import type { RouteDecision } from '../../ext-proc/src/core/routing/route-decision.js';
import type { RouteInput } from '../../ext-proc/src/core/routing/route-input.js';
import { parseLlmRequest } from '../../ext-proc/src/core/envoy/openai-request.js';
import { createGatewayCore, type GatewayCore } from '../../ext-proc/src/core/routing/gateway-core.js';
import { REPLICA_EVENTS } from '../../core/src/wire/channels.js';
import type { ReplicaEvent } from '../../core/src/wire/replica-event.js';
import { seededRandom } from './workloads/rng.js';

/** The coding workflow learned from 80 synthetic sessions. */
export const learnedCoding = buildOffline(
  synthesizeTraces(codingWorkload({ sessions: 80, ratePerS: 1, seed: 3 })),
  CORE_CONFIG,
).models[0] as WorkflowModel;

/** One pool of four endpoints, priority field and warming on, no scraping. */
export const replicaTestConfig = parseConfig({
  pools: [
    {
      name: 'p',
      models: ['llama'],
      endpoints: [1, 2, 3, 4].map((i) => ({ address: `127.0.0.1:${i}` })),
      priority_field: true,
    },
  ],
  scheduler: { levers: { warming: true }, scrape_interval_ms: 0, prefix: { block_bytes: 256 } },
});

/**
 * N gateway cores on one virtual clock, the learned workflow proactive on each; every event
 * is encoded, and decoded and applied by every other core `delayMs` after it was sent (in the
 * order sent; at 0, at once, inside the sender's call). `advance` moves the clock, delivering
 * what falls due on the way.
 */
export function replicaCores(n: number, delayMs = 0) {
  let now = 0;
  const clock = { now: () => now, wallNow: () => 1_790_000_000_000 + now };
  const cores: GatewayCore[] = [];
  const queue: Array<{ atMs: number; from: GatewayCore; wire: Uint8Array }> = [];
  /** Delivers every event due by `untilMs`, each at its own time. */
  const deliver = (untilMs: number) => {
    while (queue.length > 0 && (queue[0]?.atMs ?? Infinity) <= untilMs) {
      const e = queue.shift()!;
      now = Math.max(now, e.atMs);
      for (const other of cores)
        if (other !== e.from) other.replicas?.apply(REPLICA_EVENTS.decode(e.wire), now);
    }
    now = untilMs;
  };
  for (let i = 0; i < n; i++) {
    const id = `r${i}`;
    let seq = 0;
    const sink = {
      emit: (body: ReplicaEvent['body']) => {
        const wire = REPLICA_EVENTS.encode({ replica: id, seq: ++seq, unixMs: clock.wallNow(), body });
        queue.push({ atMs: now + delayMs, from: cores[i] as GatewayCore, wire });
        if (delayMs === 0) deliver(now);
      },
    };
    const core = createGatewayCore(replicaTestConfig, {
      clock,
      random: seededRandom(100 + i),
      warmSender: { send: (plan) => core.planner.done(plan.endpoint) },
      ...(n > 1 ? { replica: { id, sink } } : {}),
    });
    core.models.set({ ...learnedCoding, mode: 'proactive', version: 1 });
    cores.push(core);
  }
  return { cores, advance: (ms: number) => deliver(now + ms), now: () => now };
}

/** A request that ran to its end with `output`. */
export const completedOk = (output: string): CompletedRequest =>
  ({
    status: 'OK',
    usage: { outputTokens: 10, reported: true, promptTokens: 1, cachedTokens: 0, outputText: output },
  }) as CompletedRequest;

/** What Envoy gets: the endpoint and every header the decision sets. */
export function seenByEnvoy(d: RouteDecision): string {
  return decisionHeaders(d)
    .map((h) => `${h.header.key}=${Buffer.from(h.header.raw_value ?? '').toString('latin1')}`)
    .join(' ');
}

/** The stages of the sessions the tests play: a planner, a fan-out of 3 explorers, 2 engineers, a reviewer. */
export const CODING_SHAPE = [
  ['planner'],
  ['explorer', 'explorer', 'explorer'],
  ['engineer'],
  ['engineer'],
  ['reviewer'],
];

/** A coding request of `agent`: its instructions, then `turns`. */
export function codingInput(
  session: string,
  agent: string,
  step: number,
  k: number,
  turns: ReadonlyArray<{ role: string; content: string }>,
): RouteInput {
  const body = Buffer.from(
    JSON.stringify({
      model: 'llama',
      messages: [{ role: 'system', content: `You are the ${agent}. `.repeat(40) }, ...turns],
    }),
  );
  return {
    llm: parseLlmRequest(body, 'chat'),
    identity: { workflow: 'coding', session, agent },
    requestId: `${session}-${step}-${agent}-${k}`,
    exchange: `${session}-${step}-${agent}-${k}`,
    sessionEnd: false,
  };
}
