// The same flood through ext-proc's real message handling in this process (a
// StreamProcessor per exchange, wired as the service wires it: the gateway core, identity
// resolution, the shared body budget and flow control with fairness between tenants),
// without the gRPC transport: the full 10 million in minutes, and every table's own figures.
// Besides each local exchange:
// - three other ext-proc replicas each start a request of a distinct remote session, folded
//   through the real replica view (every other one never ends, so the in-flight tables reach
//   their bounds), and a heartbeat arrives from a new forged replica id every time (they take
//   the free replica slots and expire when silent; the real three keep theirs);
// - every request names a distinct tenant, and in alternate blocks of HOLD_BLOCK requests
//   every endpoint is saturated, so the requests are held in the flow-control queue (one flow
//   per tenant up to fairness.max_flows, then the shared one) and released together when the
//   endpoints free up.
import type { HeaderValue } from '../../../common/src/envoy/ext-proc-messages.js';
import { ExtProcMetrics } from '../../../ext-proc/src/adapters/metrics.js';
import { settingsFromConfig } from '../../../ext-proc/src/adapters/service.js';
import {
  systemClock,
  systemRequestIds,
  systemTimers,
} from '../../../ext-proc/src/adapters/system-sources.js';
import { SharedBodyBudget } from '../../../ext-proc/src/core/envoy/stream-hygiene.js';
import { type ExtProcSettings, StreamProcessor } from '../../../ext-proc/src/core/envoy/stream-processor.js';
import { createGatewayCore, type GatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import type { ReplicaEventBody } from '../../../core/src/wire/replica-event.js';
import { deadline, type FloodSize } from './cores.js';
import { extProcFillAt, floodConfig } from './flood-config.js';
import { formatRow, identityOf, memoryNow, type Sample, systemPrompt } from './memory.js';

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
/** Requests per hold block: saturated (held, then released together), then free. */
const HOLD_BLOCK = 1000;
const PEERS = ['peer-0', 'peer-1', 'peer-2'];

function headerValues(pairs: ReadonlyArray<readonly [string, string]>): HeaderValue[] {
  return pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));
}

/** A StreamProcessor for one exchange, wired to `core` as the service wires it. */
export function inProcessStream(
  core: GatewayCore,
  wiring: { settings: ExtProcSettings; metrics: ExtProcMetrics; budget: SharedBodyBudget },
): StreamProcessor {
  return new StreamProcessor(
    wiring.settings,
    core.router,
    wiring.metrics,
    systemClock,
    systemRequestIds,
    wiring.budget,
    core.identity,
    core.flow,
  );
}

export function floodGateway(
  size: FloodSize,
  bounds: number | null,
  print: (line: string) => void,
): { samples: Sample[]; fillAt: number } {
  const config = floodConfig(bounds, {}, true);
  const samples: Sample[] = [];
  const deferred: Array<() => void> = [];
  const core = createGatewayCore(config, {
    clock: systemClock,
    random: Math.random,
    // Deferred deliveries run when the flood releases a held block.
    timers: systemTimers(systemClock, (fn) => deferred.push(fn)),
    // This replica's own events are only counted (nobody else listens here).
    replica: { id: 'self', sink: { emit: () => undefined } },
  });
  const view = core.replicas;
  const flow = core.flow;
  if (!view || !flow) throw new Error('the gateway flood needs the replica view and flow control');
  const metrics = new ExtProcMetrics(false);
  const settings = settingsFromConfig(config);
  const budget = new SharedBodyBudget(config.ext_proc.max_buffered_bytes_total);
  const endpoints = [...core.cluster.allEndpoints()];
  const tenantHeader = config.scheduler.flow_control.fairness.tenant_header;
  const status = headerValues([
    [':status', '200'],
    ['content-type', 'application/json'],
  ]);
  const output = Buffer.from(
    JSON.stringify({
      choices: [{ index: 0, message: { role: 'assistant', content: 'Plan: read, then fix.' } }],
      usage: { prompt_tokens: 40, completion_tokens: 12 },
    }),
  );
  const seqs = new Map<string, number>();
  // Sequence numbers of the three real peers only: a forged id sends once (seq 1), and a map of
  // every forged id would be the bench's own growth.
  const fromReplica = (replica: string, body: ReplicaEventBody, now: number) => {
    const seq = (seqs.get(replica) ?? 0) + 1;
    if (PEERS.includes(replica)) seqs.set(replica, seq);
    view.apply({ replica, seq, unixMs: Date.now(), body }, now);
  };
  const finishExchange = (p: StreamProcessor) => {
    p.handle({ response_headers: { headers: { headers: status } } });
    p.handle({ response_body: { body: output, end_of_stream: true } });
    p.close();
  };
  let held: StreamProcessor[] = [];
  let maxFlows = 0;
  let maxHeld = 0;
  let maxHeldBytes = 0;
  let failed = 0;
  const over = deadline(size.maxSeconds);
  let lapStart = performance.now();
  for (let i = 0; i < size.sessions; i++) {
    if (over(i)) {
      const m = memoryNow();
      samples.push({ done: i, rssMiB: m.rssMiB, heapMiB: m.heapMiB, offGrid: true });
      print(formatRow('gateway', i, m, `stopped after ${size.maxSeconds} s`));
      break;
    }
    const blockAt = i % (2 * HOLD_BLOCK);
    if (blockAt === 0) for (const ep of endpoints) ep.waiting = 1000;
    if (blockAt === HOLD_BLOCK) {
      // The endpoints free up (a scrape): the held requests are released, then finish.
      const q = flow.controller;
      maxFlows = Math.max(maxFlows, q.flows('pool-a'));
      maxHeld = Math.max(maxHeld, q.depth('pool-a'));
      maxHeldBytes = Math.max(maxHeldBytes, q.heldBytes('pool-a'));
      for (const ep of endpoints) ep.waiting = 0;
      flow.scraped();
      let released = 0;
      for (const p of held) p.onLater(() => released++);
      for (const fn of deferred.splice(0)) fn();
      if (released < held.length) failed += held.length - released;
      for (const p of held) finishExchange(p);
      held = [];
    }
    const now = systemClock.now();
    const id = identityOf(i, size.agents, size.workflows);
    const p = inProcessStream(core, { settings, metrics, budget });
    p.handle({
      request_headers: {
        headers: {
          headers: headerValues([
            [':method', 'POST'],
            [':path', '/v1/chat/completions'],
            ['content-type', 'application/json'],
            ['x-pythia-workflow', id.workflow],
            ['x-pythia-session', id.session],
            ['x-pythia-agent', id.agent],
            [tenantHeader, `tenant-${i}`],
          ]),
        },
      },
    });
    const body = JSON.stringify({
      model: 'bench-model',
      messages: [
        { role: 'system', content: systemPrompt(id.agent) },
        { role: 'user', content: `Work on ${id.session}.` },
      ],
    });
    const answers = p.handle({ request_body: { body: Buffer.from(body), end_of_stream: true } });
    // Held, the only answer is the restart of Envoy's message timer (override_message_timeout).
    if (answers.some((a) => a.request_body !== undefined || a.immediate_response !== undefined)) {
      if (answers.some((a) => a.immediate_response !== undefined)) failed++;
      finishExchange(p);
    } else if (blockAt < HOLD_BLOCK) held.push(p);
    else {
      failed++;
      p.close();
    }
    // The other replicas: a remote session's request (every other one never ends) and a forged id.
    const peer = PEERS[i % PEERS.length] as string;
    const remote = { workflow: id.workflow, session: `remote-${i}`, agent: id.agent };
    fromReplica(
      peer,
      {
        kind: 'start',
        flight: i + 1,
        identity: remote,
        endpoint: (endpoints[i % endpoints.length] as { address: string }).address,
        reservedTokens: 1000,
        overflow: 0,
        decodeTokens: 64,
        prefixHashes: [(i * 2654435761) >>> 0],
        prompt: null,
        order: null,
        settles: [],
      },
      now,
    );
    if (i % 2 === 1)
      fromReplica(
        PEERS[(i - 1) % PEERS.length] as string,
        {
          kind: 'end',
          flight: i,
          identity: { ...remote, session: `remote-${i - 1}` },
          sessionEnd: false,
          history: null,
        },
        now,
      );
    fromReplica(`forged-${i}`, { kind: 'heartbeat', inFlight: 0 }, now);
    // As ReplicaSync does each heartbeat: silent replicas stop counting.
    if (i % 10_000 === 0) view.expire(now);
    if ((i + 1) % size.every === 0) {
      const m = memoryNow();
      samples.push({ done: i + 1, rssMiB: m.rssMiB, heapMiB: m.heapMiB });
      const rate = size.every / ((performance.now() - lapStart) / 1000);
      print(
        formatRow(
          'gateway',
          i + 1,
          m,
          `${rate.toFixed(0)}/s tracker ${core.sessions.size}/${mib(core.sessions.sizeBytes)} affinity ${core.affinity.size}/${mib(core.affinity.sizeBytes)} history ${core.history.size}/${mib(core.history.sizeBytes)} prompts ${core.prompts.size}/${mib(core.prompts.sizeBytes)} prefix ${core.prefixIndex.size}/${mib(core.prefixIndex.sizeBytes)} remote in flight ${view.remoteInFlight}/${mib(view.remoteBytes)} (entries/MiB est.); replicas ${view.replicas} (refused ${view.counts.refused}); flow: held at most ${maxHeld} (${mib(maxHeldBytes)} MiB est.) in ${maxFlows} flows; failed ${failed}`,
        ),
      );
      lapStart = performance.now();
    }
  }
  for (const p of held) p.close();
  return { samples, fillAt: extProcFillAt(config, true) };
}
