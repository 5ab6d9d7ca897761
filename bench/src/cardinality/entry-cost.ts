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
import { identityOf } from './memory.js';

const N = Number(process.env['ENTRY_COST_N'] ?? 100_000);
const HUGE = { maxEntries: 10 * N, maxBytes: 2 ** 40, idleMs: 3_600_000 };
const now = () => 0;

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface Table {
  readonly sizeBytes: number;
}

function measure(name: string, make: () => Table, fill: (t: Table, i: number) => void): string {
  const before = heapAfterGc();
  const table = make();
  for (let i = 0; i < N; i++) fill(table, i);
  const measured = (heapAfterGc() - before) / N;
  const estimated = table.sizeBytes / N;
  const verdict = estimated >= measured ? 'ok' : 'UNDER-ESTIMATED';
  return `${name.padEnd(16)} measured ${measured.toFixed(0).padStart(5)} B/entry  estimated ${estimated.toFixed(0).padStart(5)} B/entry  ${verdict}`;
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
  print(
    measure(
      'active sessions',
      () => new ActiveSessions(10 * N, { maxBytes: 2 ** 40, maxAgentPools: 10 * N, agentPoolBytes: 2 ** 40 }),
      (t, i) => {
        const x = id(i);
        const start = { requestId: `req-${i}`, ...x, pool: 'pool-a', startUnixMs: 1.8e12 + i };
        (t as ActiveSessions).started(start, start.startUnixMs);
      },
    ),
  );
}
