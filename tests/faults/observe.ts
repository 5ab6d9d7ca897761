// What the fault tests read back from NATS: the stored session summaries (to count sessions
// lost and stored twice) and whether the profiler has acknowledged every trace (after which no
// redelivery can store anything again).
import { connect, type NatsConnection } from 'nats';
import { decodeSessionSummary } from '../../core/src/wire/codec.js';
import { SESSION_STREAM, TRACE_CONSUMER, TRACE_STREAM } from '../../core/src/wire/subjects.js';

async function withNats<T>(url: string, f: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await f(nc);
  } finally {
    await nc.close();
  }
}

/** Every stored summary: session -> the request count of each summary stored for it. */
export function storedSessions(url: string): Promise<Map<string, number[]>> {
  return withNats(url, async (nc) => {
    const out = new Map<string, number[]>();
    const last = (await (await nc.jetstreamManager()).streams.info(SESSION_STREAM)).state.last_seq;
    if (last === 0) return out;
    const messages = await (await nc.jetstream().consumers.get(SESSION_STREAM)).consume();
    for await (const m of messages) {
      const summary = decodeSessionSummary(m.data);
      out.set(summary.session, [...(out.get(summary.session) ?? []), summary.requests.length]);
      if (m.seq >= last) break;
    }
    await messages.close();
    return out;
  });
}

/** True when the profiler's durable consumer has every stored trace delivered and acknowledged. */
export function allTracesAcknowledged(url: string): Promise<boolean> {
  return withNats(url, async (nc) => {
    const jsm = await nc.jetstreamManager();
    try {
      const info = await jsm.consumers.info(TRACE_STREAM, TRACE_CONSUMER);
      const last = (await jsm.streams.info(TRACE_STREAM)).state.last_seq;
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq >= last;
    } catch {
      return false;
    }
  });
}

export interface LearningTally {
  readonly sessions: number;
  readonly stored: number;
  readonly lost: number;
  readonly storedTwice: number;
  /** Sessions stored once but with fewer requests than were played (a split or lost traces). */
  readonly incomplete: number;
  readonly tracesExpected: number;
  readonly tracesLost: number;
}

/** Compares what was played (session -> requests) with what the profiler stored. */
export function tally(
  played: ReadonlyMap<string, number>,
  stored: ReadonlyMap<string, number[]>,
): LearningTally {
  let lost = 0;
  let storedTwice = 0;
  let incomplete = 0;
  let tracesExpected = 0;
  let tracesLost = 0;
  let storedCount = 0;
  for (const [session, requests] of played) {
    tracesExpected += requests;
    const got = stored.get(session) ?? [];
    if (got.length === 0) lost++;
    else storedCount++;
    if (got.length > 1) storedTwice++;
    const most = Math.max(0, ...got);
    if (got.length > 0 && most < requests) incomplete++;
    tracesLost += Math.max(0, requests - most);
  }
  return {
    sessions: played.size,
    stored: storedCount,
    lost,
    storedTwice,
    incomplete,
    tracesExpected,
    tracesLost,
  };
}
