// Crash-consistent learning with real processes: traces of interleaved sessions flow into
// JetStream while the profiler process is SIGKILLed mid-sessions (alone, then as leader with a
// standby). Every session must be stored exactly once and whole: 0 lost, 0 stored twice.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { connect } from 'nats';
import { parseConfig } from '../../common/src/config/load.js';
import { ensureStateStreams, streamLimits } from '../../common/src/nats/setup.js';
import { TRACES } from '../../core/src/wire/channels.js';
import type { Trace } from '../../core/src/wire/trace.js';
import { natsServerAvailable, TestNatsServer } from '../../test-support/src/nats-server.js';
import { waitFor } from '../../test-support/src/wait-for.js';
import { codingWorkload, researchWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { allTracesAcknowledged, storedSessions, tally } from './observe.js';
import { configFile, ServiceProcess } from './service-process.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)';

function rawConfig(natsUrl: string) {
  return {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    log_level: 'info',
    scheduler: { scrape_interval_ms: 0 },
    nats: { url: natsUrl, lease_ttl_s: 1 },
    pools: [{ name: 'pool', models: ['model'], endpoints: [{ address: '127.0.0.1:8000' }] }],
    profiler: { admin: '127.0.0.1:0', session_idle_s: 3, end_grace_s: 0.2, rebuild_interval_s: 1 },
  };
}

/**
 * Interleaved sessions, in the order their traces end; every other one has no end marker (it
 * completes when idle).
 */
function workload(prefix: string, seed: number): { traces: Trace[]; played: Map<string, number> } {
  const plans = [
    ...codingWorkload({ sessions: 20, ratePerS: 10, seed }),
    ...researchWorkload({ sessions: 20, ratePerS: 10, seed: seed + 1 }),
  ];
  const traces = synthesizeTraces(plans)
    .map((t, i) => ({
      ...t,
      requestId: `${prefix}-${t.requestId}`,
      session: `${prefix}-${t.session}`,
      sessionEnd: t.sessionEnd && i % 2 === 0,
    }))
    .sort((a, b) => a.endUnixMs - b.endUnixMs);
  const played = new Map<string, number>();
  for (const t of traces) played.set(t.session, (played.get(t.session) ?? 0) + 1);
  return { traces, played };
}

/**
 * The traces the profiler's durable consumer has been handed (its delivered stream sequence):
 * the leader has read them into its open sessions, unacknowledged until they are stored.
 */
async function delivered(url: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const info = await (await nc.jetstreamManager()).consumers.info(TRACES.stream, TRACES.consumer);
    return info.delivered.stream_seq;
  } catch {
    return 0; // no consumer yet: no leader has started consuming
  } finally {
    await nc.close();
  }
}

/**
 * Publishes the traces in order, running each `[fraction, hook]` once that share of them is
 * published and a leader has been handed every one published so far (so a kill lands on a
 * profiler holding sessions in progress, whatever the machine's speed).
 */
async function publish(
  url: string,
  traces: readonly Trace[],
  hooks: ReadonlyArray<[number, () => Promise<void>]>,
): Promise<void> {
  const nc = await connect({ servers: url });
  const js = nc.jetstream();
  const pending = [...hooks].sort((a, b) => a[0] - b[0]);
  let lastSeq = 0;
  const BATCH = 8;
  for (let i = 0; i < traces.length; i += BATCH) {
    while (pending.length > 0 && (pending[0]?.[0] ?? 1) * traces.length <= i) {
      const seq = lastSeq;
      await waitFor('the leader handed every trace published', async () => (await delivered(url)) >= seq);
      await pending.shift()?.[1]();
    }
    const acks = await Promise.all(
      traces
        .slice(i, i + BATCH)
        .map((t) => js.publish(TRACES.subject, TRACES.encode(t), { msgID: t.requestId })),
    );
    for (const a of acks) lastSeq = Math.max(lastSeq, a.seq);
  }
  for (const [, hook] of pending) await hook();
  await nc.close();
}

async function settle(url: string, sessions: number): Promise<Map<string, number[]>> {
  // Every trace acknowledged (including those the killed process held, redelivered after the
  // ack wait): nothing can be stored any more.
  await waitFor('every trace acknowledged', () => allTracesAcknowledged(url), 90_000);
  const stored = await storedSessions(url);
  assert.ok(stored.size >= sessions);
  return stored;
}

describe('profiler SIGKILL mid-sessions', { skip }, () => {
  const servers: TestNatsServer[] = [];
  const processes: ServiceProcess[] = [];
  const start = (name: string, path: string) => {
    const p = ServiceProcess.service(name, 'profiler', path);
    processes.push(p);
    return p;
  };
  async function nats(): Promise<{ url: string; path: string }> {
    const server = await TestNatsServer.start();
    servers.push(server);
    const nc = await connect({ servers: server.url });
    await ensureStateStreams(nc, streamLimits(parseConfig(rawConfig(server.url))));
    await nc.close();
    return { url: server.url, path: configFile(rawConfig(server.url)) };
  }
  after(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('alone, killed twice and restarted: every session stored exactly once, whole', async () => {
    const { url, path } = await nats();
    const { traces, played } = workload('alone', 51);
    let profiler = start('profiler-1', path);
    await profiler.logged('consuming traces (leader)');
    const killAndRestart = (n: number) => async () => {
      await profiler.kill();
      profiler = start(`profiler-${n}`, path);
    };
    await publish(url, traces, [
      [0.35, killAndRestart(2)],
      [0.7, killAndRestart(3)],
    ]);
    const t = tally(played, await settle(url, played.size));
    console.log(`profiler alone, 2 SIGKILLs: ${JSON.stringify(t)}`);
    assert.deepEqual(
      { lost: t.lost, storedTwice: t.storedTwice, incomplete: t.incomplete, tracesLost: t.tracesLost },
      { lost: 0, storedTwice: 0, incomplete: 0, tracesLost: 0 },
    );
  });

  test('leader with standbys: a standby takes over within seconds, learning exactly once', async () => {
    const { url, path } = await nats();
    const { traces, played } = workload('standby', 61);
    const a = start('profiler-a', path);
    await a.logged('consuming traces (leader)');
    // Two standbys, so the second kill comes before a restarted process would be up.
    const standbys = [start('profiler-b', path), start('profiler-c', path)];
    await Promise.all(standbys.map((p) => p.logged('profiler state restored')));
    const takeovers: number[] = [];
    let leader = a;
    const killLeader = () => async () => {
      const killedAt = Date.now();
      await leader.kill();
      const next = await Promise.any(
        standbys.map((p) => p.logged('consuming traces (leader)', 30_000).then(() => p)),
      );
      takeovers.push((Date.now() - killedAt) / 1000);
      standbys.splice(standbys.indexOf(next), 1);
      leader = next;
    };
    await publish(url, traces, [
      [0.3, killLeader()],
      [0.65, killLeader()],
    ]);
    const t = tally(played, await settle(url, played.size));
    console.log(
      `profiler leader + 2 standbys, 2 leader SIGKILLs: ${JSON.stringify(t)}, takeover_s ${takeovers}`,
    );
    assert.deepEqual(
      { lost: t.lost, storedTwice: t.storedTwice, incomplete: t.incomplete, tracesLost: t.tracesLost },
      { lost: 0, storedTwice: 0, incomplete: 0, tracesLost: 0 },
    );
    // lease_ttl_s is 1: the standby consumes within a few seconds of the kill.
    for (const s of takeovers) assert.ok(s < 5, `takeover took ${s} s`);
  });
});
