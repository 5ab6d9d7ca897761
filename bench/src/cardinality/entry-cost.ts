// The measurement behind the byte bounds' per-entry constants: each table is filled through
// its public API with 100k distinct entries shaped like the cardinality flood's, and the
// heap growth (after full collections) per entry is set against the table's own estimate.
// The estimate must not be below the measured cost.
import { ActiveSessions } from '../../../autoscaler/src/core/active-sessions.js';
import { AgentPrompts } from '../../../ext-proc/src/core/routing/agent-prompts.js';
import { PrefixIndex } from '../../../ext-proc/src/core/routing/prefix-index.js';
import { SessionAffinity } from '../../../ext-proc/src/core/routing/session-affinity.js';
import { SessionHistory } from '../../../ext-proc/src/core/routing/session-history.js';
import { SessionTracker } from '../../../ext-proc/src/core/routing/session-tracker.js';
import { ReplicaView, type ReplicaViewParts } from '../../../ext-proc/src/core/routing/replica-view.js';
import { ClusterState } from '../../../core/src/cluster/cluster-state.js';
import { ConversationChains } from '../../../core/src/identity/conversation-chain.js';
import { BoundedMap } from '../../../core/src/bounded/bounded-map.js';
import { stringBytes } from '../../../core/src/bounded/memory-cost.js';
import { parseConfig } from '../../../common/src/config/load.js';
import { coreConfigFrom } from '../../../profiler/src/core/core-config.js';
import {
  ProfilerCore,
  SEEN_ID_BYTES,
  STORED_ENTRY_BYTES,
  STORED_SPAN_BYTES,
} from '../../../profiler/src/core/profiler-core.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import { floodTrace } from './cores.js';
import { formatHeldCost, measureHeldCost } from './held-cost.js';
import { identityOf, memoryAfterGc } from './memory.js';

const N = Number(process.env['ENTRY_COST_N'] ?? 100_000);
const HUGE = { maxEntries: 10 * N, maxBytes: 2 ** 40, idleMs: 3_600_000 };
const now = () => 0;

const heapAfterGc = (): number => memoryAfterGc().heap;

interface Table {
  readonly sizeBytes: number;
}

/** A request id shaped like ext-proc's (a UUID). */
function requestId(i: number): string {
  const h = (i * 2654435761) >>> 0;
  return `${h.toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

function profilerTrace(i: number, workflow: string, session: string, agent: string, start: number): Trace {
  // Fresh strings, as decoding a record gives (the literal ones of floodTrace are shared: an overestimate).
  const fresh = (x: string) => `${x} `.slice(0, -1);
  return floodTrace(
    requestId(i),
    { workflow: fresh(workflow), session: fresh(session), agent: fresh(agent) },
    start,
  );
}

const PROFILER_CONFIG = coreConfigFrom(
  parseConfig({ pools: [{ name: 'pool-a', models: ['bench-model'] }] }).profiler,
  128,
);

/** Like measure(), for tables whose estimate is read from elsewhere. */
function measureWith<T>(
  name: string,
  make: () => T,
  fill: (t: T, i: number) => void,
  estimate: (t: T) => number,
): string {
  const before = heapAfterGc();
  const table = make();
  for (let i = 0; i < N; i++) fill(table, i);
  const measured = (heapAfterGc() - before) / N;
  const estimated = estimate(table) / N;
  const verdict = estimated >= measured ? 'ok' : 'UNDER-ESTIMATED';
  return `${name.padEnd(18)} measured ${measured.toFixed(0).padStart(5)} B/entry  estimated ${estimated.toFixed(0).padStart(5)} B/entry  ${verdict}`;
}

function measure(name: string, make: () => Table, fill: (t: Table, i: number) => void): string {
  const before = heapAfterGc();
  const table = make();
  for (let i = 0; i < N; i++) fill(table, i);
  const measured = (heapAfterGc() - before) / N;
  const estimated = table.sizeBytes / N;
  const verdict = estimated >= measured ? 'ok' : 'UNDER-ESTIMATED';
  return `${name.padEnd(18)} measured ${measured.toFixed(0).padStart(5)} B/entry  estimated ${estimated.toFixed(0).padStart(5)} B/entry  ${verdict}`;
}

export function measureEntryCosts(print: (line: string) => void): void {
  const id = (i: number) => identityOf(i, N, 1000);
  print(`per-entry heap cost over ${N} entries (names as in the cardinality flood)`);
  print(
    measure(
      'session tracker',
      () => new SessionTracker(HUGE, now),
      (t, i) => (t as SessionTracker).start(id(i), i),
    ),
  );
  print(
    measure(
      'session affinity',
      () => new SessionAffinity(HUGE, now),
      (t, i) => (t as SessionAffinity).placed(id(i).workflow, id(i).session, '127.0.0.1:8000', i),
    ),
  );
  print(
    measure(
      'session history',
      () => new SessionHistory(HUGE, 1 << 20, now),
      (t, i) => {
        const x = id(i);
        const json = JSON.parse(
          JSON.stringify({
            messages: [
              { role: 'system', content: `You are ${x.agent}.` },
              { role: 'user', content: `Work on ${x.session}.` },
            ],
          }),
        ) as Record<string, unknown>;
        (t as SessionHistory).record(x.workflow, x.session, 'bench-model', json, `Done ${i}.`);
      },
    ),
  );
  print(
    measure(
      'agent prompts',
      () => new AgentPrompts(HUGE, 1 << 20, now),
      (t, i) => {
        const x = id(i);
        const json = JSON.parse(
          JSON.stringify({ messages: [{ role: 'system', content: `You are ${x.agent}.` }] }),
        ) as Record<string, unknown>;
        (t as AgentPrompts).observe(x.workflow, x.agent, 'bench-model', json);
      },
    ),
  );
  print(
    measure(
      'prefix index',
      () => new PrefixIndex({ maxBlocks: 10 * N, maxBytes: 2 ** 40, ttlMs: 3_600_000 }, now),
      (t, i) => (t as PrefixIndex).record([(i * 2654435761) >>> 0], '127.0.0.1:8000', 0),
    ),
  );
  const big = { maxEntries: 10 * N, maxBytes: 2 ** 40, idleMs: 3_600_000, now: () => 0 };
  print(
    measureWith(
      'profiler seen ids',
      () => new BoundedMap<string, true>({ ...big, sizeOf: (k) => SEEN_ID_BYTES + stringBytes(k) }),
      (t, i) => t.set(requestId(i), true),
      (t) => t.bytes,
    ),
  );
  print(
    measureWith(
      'profiler stored',
      () =>
        new BoundedMap<string, { startUnixMs: number; endUnixMs: number }[]>({
          ...big,
          sizeOf: (k, v) => STORED_ENTRY_BYTES + stringBytes(k) + v.length * STORED_SPAN_BYTES,
        }),
      (t, i) => {
        const x = id(i);
        t.set(`${x.workflow}\u0000${x.session}`, [{ startUnixMs: 1.8e12 + i, endUnixMs: 1.8e12 + i + 100 }]);
      },
      (t) => t.bytes,
    ),
  );
  // Open sessions of one trace each (the core's own tables counted, learners included).
  const cfg = { ...PROFILER_CONFIG, maxOpenSessions: 10 * N, dedupeCapacity: 10 * N, sessionIdleMs: 2 ** 40 };
  print(
    measureWith(
      'profiler open',
      () => new ProfilerCore<null>(cfg),
      (core, i) => {
        const x = id(i);
        core.ingest(profilerTrace(i, 'wf-1', x.session, 'agent-1', 1.8e12 + i), null, 1.8e12 + i);
      },
      (core) => Object.values(core.tables).reduce((sum, t) => sum + t.bytes, 0),
    ),
  );
  // Learned workflows: N/100 workflows of 10 agents, each seen in sessions of 10 requests.
  print(
    measureWith(
      'profiler learned',
      () => new ProfilerCore<null>({ ...cfg, maxWorkflows: N, dedupeCapacity: 1, dedupeBytes: 1024 }),
      (core, i) => {
        const start = 1.8e12 + i * 1000;
        const wf = `wf-${Math.floor(i / 100)}`;
        core.ingest(profilerTrace(i, wf, `s-${Math.floor(i / 10)}`, `agent-${i % 10}`, start), null, start);
        if (i % 1000 === 999) {
          core.completeDue(Number.MAX_SAFE_INTEGER);
          core.rebuildDirty(start);
        }
      },
      (core) => core.tables.learners.bytes,
    ),
  );
  // Identity resolution's tables are BoundedLru maps: conversation ends (hash -> session) as one.
  print(
    measureWith(
      'identity chains',
      () =>
        new ConversationChains({ maxEntries: 10 * N, maxBytes: 2 ** 40, idleMs: 0 }, { now, wallNow: now }),
      (chains, i) => chains.remember([(i * 2654435761) >>> 0], `c-${requestId(i).slice(0, 8)}`),
      (chains) => chains.bytes,
    ),
  );
  // Remote in-flight requests alone: the tables they fold into are stubs here.
  const noop = () => undefined;
  const stubs = {
    sessions: { start: noop, end: noop, forget: noop },
    affinity: { placed: noop, reserve: noop },
    prefixIndex: { record: noop, confirm: noop },
    prompts: { put: noop },
    history: { put: noop, drop: noop },
    planner: { remoteWarm: noop },
  };
  const endpoint = '127.0.0.1:8000';
  print(
    measureWith(
      'remote in flight',
      () =>
        new ReplicaView(
          'self',
          {
            ...stubs,
            cluster: new ClusterState([
              { name: 'pool-a', models: ['bench-model'], endpoints: [{ address: endpoint }] },
            ]),
          } as unknown as ReplicaViewParts,
          {
            deadAfterMs: 2 ** 40,
            maxReplicas: 8,
            maxInFlightPerReplica: 10 * N,
            requestMaxMs: 2 ** 40,
            maxRemoteInFlight: 10 * N,
            maxRemoteBytes: 2 ** 40,
            maxIdentifierLength: 128,
            maxPrefixHashes: 8192,
            maxReservationMs: 120_000,
          },
        ),
      (view, i) => {
        // Decoded events: fresh strings and a fresh hash array each.
        const x = id(i);
        const fresh = (v: string) => `${v} `.slice(0, -1);
        view.apply(
          {
            replica: 'peer-0',
            seq: i + 1,
            unixMs: 0,
            body: {
              kind: 'start',
              flight: i + 1,
              identity: { workflow: fresh(x.workflow), session: fresh(x.session), agent: fresh(x.agent) },
              endpoint: fresh(endpoint),
              reservedTokens: 1000,
              overflow: 0,
              decodeTokens: 64,
              prefixHashes: [(i * 2654435761) >>> 0, i],
              prompt: null,
              order: null,
              settles: [],
            },
          },
          0,
        );
      },
      (view) => view.remoteBytes,
    ),
  );
  print(
    measure(
      'active sessions',
      () => new ActiveSessions(10 * N, { maxBytes: 2 ** 40, maxAgentPools: 10 * N, agentPoolBytes: 2 ** 40 }),
      (t, i) => {
        const x = id(i);
        const start = {
          requestId: `req-${i}`,
          exchange: `req-${i}`,
          ...x,
          pool: 'pool-a',
          startUnixMs: 1.8e12 + i,
        };
        (t as ActiveSessions).started(start, start.startUnixMs);
      },
    ),
  );
  // Held requests keep their whole exchange alive (held-cost.ts): at most 50k (about 11 KiB each).
  const held = Math.min(N, 50_000);
  print(`per-held-request cost over ${held} requests held by flow control (body counted twice)`);
  for (const workflow of [false, true])
    for (const promptChars of [100, 4000])
      print(
        formatHeldCost(
          `held ${workflow ? 'workflow' : 'plain'}`,
          measureHeldCost({ n: held, promptChars, workflow }),
        ),
      );
}
