// npm run bench:profiler: trace ingestion rate (protobuf decode + the real ProfilerCore)
// and model rebuild time, for 10k and 100k coding sessions; plus, when nats-server is
// installed, the rate of the whole service consuming from a real JetStream stream.

import { connect } from 'nats';
import { parseConfig } from '../../../common/src/config/load.js';
import { createLogger } from '../../../common/src/logger.js';
import { TRACE_SUBJECT } from '../../../core/src/wire/subjects.js';
import { ensureStateStreams, streamLimits } from '../../../common/src/nats/setup.js';
import { decodeTrace, encodeTrace } from '../../../core/src/wire/codec.js';
import { natsServerAvailable, TestNatsServer } from '../../../test-support/src/nats-server.js';
import { coreConfigFrom } from '../../../profiler/src/core/core-config.js';
import { startProfiler } from '../../../profiler/src/adapters/service.js';
import { ProfilerCore } from '../../../profiler/src/core/profiler-core.js';
import { codingWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../../test-support/src/workloads/synthesize-traces.js';

const sizes = (process.argv.includes('--quick') ? [2_000] : [10_000, 100_000]) as number[];
const base = parseConfig({ pools: [{ name: 'none', models: ['none'] }] });

function coreRun(sessions: number): Record<string, number | string> {
  const traces = synthesizeTraces(codingWorkload({ sessions, ratePerS: 50, seed: 7 }));
  const encoded = traces.map(encodeTrace);
  const core = new ProfilerCore<number>({
    ...coreConfigFrom(base.profiler, 128),
    // Keep every session so the rebuild works on all of them.
    maxSessionsKept: sessions,
    maxOpenSessions: sessions,
    dedupeCapacity: traces.length,
  });
  const t0 = performance.now();
  for (let i = 0; i < encoded.length; i++) {
    const trace = decodeTrace(encoded[i] as Uint8Array);
    core.ingest(trace, i, trace.endUnixMs);
    if (i % 1000 === 0) core.completeDue(trace.endUnixMs);
  }
  const done = core.completeDue(Number.MAX_SAFE_INTEGER).length;
  const ingestS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const rebuilt = core.rebuildDirty(Date.now());
  const rebuildS = (performance.now() - t1) / 1000;
  return {
    sessions,
    records: traces.length,
    ingest_records_per_s: Math.round(traces.length / ingestS),
    rebuild_s: +rebuildS.toFixed(3),
    regex: rebuilt[0]?.model.regex ?? '',
    completed_at_end: done,
    heap_mib: Math.round(process.memoryUsage().heapUsed / 1024 / 1024),
  };
}

async function natsRun(sessions: number): Promise<Record<string, number | string>> {
  const nats = await TestNatsServer.start();
  try {
    const config = parseConfig({
      log_level: 'warn',
      nats: { url: nats.url },
      pools: [{ name: 'none', models: ['none'] }],
      profiler: {
        admin: '127.0.0.1:0',
        session_idle_s: 3600,
        limits: { max_open_sessions: sessions, max_sessions_kept: sessions },
      },
    });
    const traces = synthesizeTraces(codingWorkload({ sessions, ratePerS: 50, seed: 8 }));
    const nc = await connect({ servers: nats.url });
    await ensureStateStreams(nc, streamLimits(config));
    const js = nc.jetstream();
    for (let i = 0; i < traces.length; i += 500) {
      await Promise.all(traces.slice(i, i + 500).map((t) => js.publish(TRACE_SUBJECT, encodeTrace(t))));
    }
    await nc.close();
    const profiler = await startProfiler(config, {
      log: createLogger('profiler', 'warn'),
      collectProcessMetrics: false,
    });
    await profiler.started;
    // From the end of start-up (state restore), while the consumer drains the stream.
    const t0 = performance.now();
    for (;;) {
      const accepted = (await profiler.metrics.tracesTotal.get()).values.reduce((a, v) => a + v.value, 0);
      if (accepted >= traces.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = (performance.now() - t0) / 1000;
    await profiler.stop();
    return { sessions, records: traces.length, consumed_records_per_s: Math.round(traces.length / s) };
  } finally {
    await nats.stop();
  }
}

console.log('Profiler core (protobuf decode + ingest + session completion), one core:');
console.table(sizes.map(coreRun));
if (natsServerAvailable()) {
  console.log(
    'Profiler service consuming a real JetStream stream (durable consumer, nats-server on loopback):',
  );
  console.table([await natsRun(sizes[0] as number)]);
} else {
  console.log('nats-server not installed: the JetStream consumption run is skipped');
}
console.log('targets: >= 50,000 records/s ingest; <= 1 s rebuild for 10k sessions');
