// What the fault tests read back from NATS: the stored session summaries (to count sessions
// lost and stored twice) and whether the profiler has acknowledged every trace (after which no
// redelivery can store anything again).
//
// The sessions stream keeps only the newest `profiler.limits.max_sessions_kept` summaries of
// each workflow (the training set, bounded): a run that stores more than that must record the
// summaries as they are stored (SummaryRecorder), not read the stream at the end
// (storedSessions), or the oldest ones, rolled off by retention, look lost.
import { type ConsumerMessages, connect, DeliverPolicy, type NatsConnection } from 'nats';
import { decodeSessionSummary } from '../../core/src/wire/codec.js';
import { SESSION_STREAM, TRACE_CONSUMER, TRACE_STREAM } from '../../core/src/wire/subjects.js';
import { waitFor } from '../../test-support/src/wait-for.js';

async function withNats<T>(url: string, f: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await f(nc);
  } finally {
    await nc.close();
  }
}

/**
 * Every summary the stream still holds: session -> the request count of each summary stored
 * for it. Only the newest `max_sessions_kept` per workflow: for small runs.
 */
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

/**
 * Follows the sessions stream from its first message for the whole run, so that every summary
 * stored is seen before retention can discard it; survives nats-server restarts (it resumes
 * after the last sequence read). A summary the stream discarded before it was read is counted
 * in `missed`, never silently absent.
 */
export class SummaryRecorder {
  /** Session -> the request count of each summary stored for it. */
  readonly stored = new Map<string, number[]>();
  /** Summaries the stream discarded (retention) before this recorder read them. */
  missed = 0;
  private lastSeq = 0;
  private stopped = false;
  private messages: ConsumerMessages | null = null;
  private readonly loop: Promise<void>;

  private constructor(private readonly nc: NatsConnection) {
    this.loop = this.run();
  }

  static async start(url: string): Promise<SummaryRecorder> {
    const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    return new SummaryRecorder(nc);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const consumer = await this.nc.jetstream().consumers.get(SESSION_STREAM, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.lastSeq + 1,
        });
        this.messages = await consumer.consume();
        for await (const m of this.messages) {
          if (m.seq <= this.lastSeq) continue;
          this.missed += m.seq - this.lastSeq - 1;
          this.lastSeq = m.seq;
          const summary = decodeSessionSummary(m.data);
          this.stored.set(summary.session, [
            ...(this.stored.get(summary.session) ?? []),
            summary.requests.length,
          ]);
        }
      } catch {
        // No stream yet (no service started), or NATS away: resume from the last one read.
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Resolves once every summary stored so far has been read. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'the summary recorder caught up',
      async () => {
        try {
          const jsm = await this.nc.jetstreamManager({ checkAPI: false });
          return this.lastSeq >= (await jsm.streams.info(SESSION_STREAM)).state.last_seq;
        } catch {
          return false; // NATS away or the stream not made yet
        }
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    await this.nc.close();
    await this.loop;
  }
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
