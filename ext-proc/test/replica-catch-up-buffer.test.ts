// A starting replica holds the live replica events that arrive while it replays the stream;
// that hold is bounded in bytes (catch_up_buffer_bytes): a burst of events during a slow
// catch-up drops and counts the excess instead of growing without bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { createLogger } from '../../common/src/logger.js';
import type { NatsLink } from '../../common/src/nats/connection.js';
import { REPLICA_EVENTS } from '../../core/src/wire/channels.js';
import { ExtProcMetrics } from '../src/adapters/metrics.js';
import { ReplicaSync } from '../src/adapters/replica-sync.js';
import { createGatewayCore } from '../src/core/routing/gateway-core.js';

test('live events held during catch-up are bounded in bytes; the excess is dropped and counted', async () => {
  const maxBytes = 64 * 1024;
  const config = parseConfig({
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: '127.0.0.1:1' }] }],
    ext_proc: { replicas: { catch_up_buffer_bytes: maxBytes, catch_up_timeout_s: 60 } },
  });
  let deliver: ((err: Error | null, msg: { data: Uint8Array }) => void) | null = null;
  let releaseReplay!: () => void;
  const replayBlocked = new Promise<void>((resolve) => (releaseReplay = resolve));
  // A NATS connection whose stream lookup waits until the test has sent its burst.
  const nc = {
    subscribe: (_subject: string, opts: { callback: typeof deliver }) => {
      deliver = opts.callback;
      return { unsubscribe: () => undefined };
    },
    flush: async () => undefined,
    // No status changes (no reconnects).
    status: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) }),
    jetstreamManager: async () => ({
      streams: {
        info: async () => {
          await replayBlocked;
          throw new Error('stream not found');
        },
        add: async () => ({}),
      },
    }),
  };
  const link = { ready: async () => nc, current: nc, connected: true } as unknown as NatsLink;
  const metrics = new ExtProcMetrics(false);
  const clock = { now: () => 0, wallNow: () => 0 };
  const sync = new ReplicaSync(
    link,
    config.ext_proc.replicas,
    metrics,
    createLogger('t', 'silent'),
    clock,
    clock.wallNow,
  );
  const core = createGatewayCore(config, { clock, random: () => 0.5, replica: { id: sync.id, sink: sync } });
  sync.attach(core.replicas!);
  while (!deliver) await new Promise((r) => setImmediate(r));
  const send = deliver as (err: Error | null, msg: { data: Uint8Array }) => void;
  const events = 10_000;
  for (let seq = 1; seq <= events; seq++) {
    const data = REPLICA_EVENTS.encode({
      replica: 'other',
      seq,
      unixMs: 0,
      body: { kind: 'heartbeat', inFlight: 0 },
    });
    send(null, { data });
    assert.ok(sync.heldBytes <= maxBytes, `${sync.heldBytes} bytes held`);
  }
  const lost = (
    await metrics.registry.getSingleMetric('pythia_ext_proc_replica_lost_total')?.get()
  )?.values.find((v) => v.labels['what'] === 'buffer')?.value;
  assert.ok(lost !== undefined && lost > 0 && lost < events, `lost ${lost}`);
  releaseReplay();
  await sync.ready;
  assert.equal(sync.heldBytes, 0);
  // What was held is applied once caught up: the other replica is known.
  assert.equal(core.replicas?.replicas, 1);
  sync.stop();
});
