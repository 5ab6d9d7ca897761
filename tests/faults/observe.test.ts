// The fault suite's count of stored sessions must not depend on how many sessions a run
// stores: the sessions stream keeps only the newest `max_sessions_kept` of a workflow, so a
// read of the stream at the end of a run longer than that misses the oldest (on a fast machine
// the suite plays ~2,000 sessions of one workflow: 20-32 of them looked lost).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { connect } from 'nats';
import { ensureStateStreams } from '../../common/src/nats/setup.js';
import { SESSION_SUMMARIES } from '../../core/src/wire/channels.js';
import type { SessionSummary } from '../../core/src/wire/codec.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { storedSessions, SummaryRecorder, tally } from './observe.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';
const KEPT = 3;

function summary(session: string): SessionSummary {
  return {
    workflow: 'wf',
    session,
    requests: [{ agent: 'a', startUnixMs: 1, endUnixMs: 2, promptTokens: 1, outputTokens: 1, ok: true }],
  };
}

describe('counting stored sessions past the stream retention', { skip }, () => {
  const servers: TestNatsServer[] = [];
  const recorders: SummaryRecorder[] = [];
  after(async () => {
    await Promise.all(recorders.map((r) => r.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('the recorder sees every session stored, across a nats-server restart', async () => {
    const server = await TestNatsServer.start();
    servers.push(server);
    const recorder = await SummaryRecorder.start(server.url);
    recorders.push(recorder);
    const store = async (sessions: readonly string[]) => {
      const nc = await connect({ servers: server.url });
      await ensureStateStreams(nc, { traceMaxAgeS: 3600, traceMaxBytes: 1 << 20, sessionsPerWorkflow: KEPT });
      const js = nc.jetstream();
      for (const s of sessions) {
        await js.publish(SESSION_SUMMARIES.subjectFor('wf'), SESSION_SUMMARIES.encode(summary(s)));
        // Stored over a run, as the profiler stores them: read before the next one arrives.
        await recorder.caughtUp();
      }
      await nc.close();
    };
    await store(['s1', 's2', 's3', 's4']);
    await server.restart();
    await waitFor('JetStream back after the restart', async () => {
      const nc = await connect({ servers: server.url });
      try {
        return (await (await nc.jetstreamManager()).streams.info(SESSION_SUMMARIES.stream)) !== null;
      } catch {
        return false;
      } finally {
        await nc.close();
      }
    });
    await store(['s5']);

    const played = new Map(['s1', 's2', 's3', 's4', 's5'].map((s) => [s, 1]));
    // The stream itself holds the newest KEPT only: read at the end, the oldest look lost.
    assert.equal(tally(played, await storedSessions(server.url)).lost, 5 - KEPT);
    const t = tally(played, recorder.stored);
    assert.deepEqual(
      { lost: t.lost, storedTwice: t.storedTwice, missed: recorder.missed },
      {
        lost: 0,
        storedTwice: 0,
        missed: 0,
      },
    );

    // A recorder started too late cannot see what retention discarded: it says so.
    const late = await SummaryRecorder.start(server.url);
    recorders.push(late);
    await late.caughtUp();
    assert.equal(late.stored.size, KEPT);
    assert.equal(late.missed, 5 - KEPT);
  });
});
