import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestStart } from '../../core/src/wire/request-start.js';
import { ActiveSessions } from '../src/core/active-sessions.js';
import type { Trace } from '../../core/src/wire/trace.js';

const start = (requestId: string, agent: string, startUnixMs: number): RequestStart => ({
  requestId,
  exchange: requestId,
  workflow: 'coding',
  session: 's',
  agent,
  pool: 'llama',
  startUnixMs,
});

const trace = (s: RequestStart, endUnixMs: number, sessionEnd = false): Trace =>
  ({ ...s, endUnixMs, sessionEnd, status: 'OK' }) as unknown as Trace;

test('a session is active from its first start, its stage running until the trace arrives', () => {
  const active = new ActiveSessions(100);
  const planner = start('r1', 'planner', 1000);
  active.started(planner, 1000);
  assert.deepEqual(active.positions(1000, 60_000), [
    { workflow: 'coding', pool: 'llama', roles: ['planner'], inFlight: 1 },
  ]);
  active.ingest(trace(planner, 3000), 3000);
  assert.equal(active.positions(3000, 60_000)[0]?.inFlight, 0);
  // A fan-out: siblings that start while one runs form one stage; it stays open until all end.
  const explorers = ['r2', 'r3', 'r4'].map((id, i) => start(id, 'explorer', 4000 + i));
  for (const e of explorers) active.started(e, 4000);
  active.ingest(trace(explorers[0]!, 5000), 5000);
  assert.deepEqual(active.positions(5000, 60_000)[0], {
    workflow: 'coding',
    pool: 'llama',
    roles: ['planner', 'explorer'],
    inFlight: 2,
  });
  active.ingest(trace(explorers[1]!, 5100), 5100);
  active.ingest(trace(explorers[2]!, 5200), 5200);
  assert.equal(active.positions(5200, 60_000)[0]?.inFlight, 0);
});

test('traces without starts still count; a repeated start is ignored; end markers and idleness end a session', () => {
  const active = new ActiveSessions(100);
  active.ingest(trace(start('r1', 'planner', 0), 2000), 2000);
  const engineer = start('r2', 'engineer', 3000);
  active.started(engineer, 3000);
  active.started(engineer, 3001);
  assert.deepEqual(active.positions(3001, 60_000)[0]?.roles, ['planner', 'engineer']);
  active.ingest(trace(engineer, 9000, true), 9000);
  assert.deepEqual(active.positions(9000, 60_000), [], 'the end marker ends it');
  active.started({ ...start('r9', 'planner', 10_000), session: 'idle' }, 10_000);
  assert.equal(active.positions(20_000, 60_000).length, 1);
  assert.deepEqual(active.positions(80_001, 60_000), [], 'gone after the idle timeout');
});

test('requests that share a client x-request-id are told apart by their exchange ids', () => {
  const active = new ActiveSessions(100);
  // A fan-out whose client sends one constant id: each request is its own exchange.
  const siblings = [0, 1, 2].map((i) => ({
    ...start('constant', 'explorer', 1000 + i),
    exchange: `px-${i}`,
  }));
  for (const s of siblings) active.started(s, 1000);
  assert.equal(active.positions(1000, 60_000)[0]?.inFlight, 3);
  active.ingest(trace(siblings[1]!, 2000), 2000);
  assert.equal(active.positions(2000, 60_000)[0]?.inFlight, 2, 'the trace ends its own exchange');
  // An older replica's start and trace (no exchange id) still pair by request id.
  const old = { ...start('r-old', 'engineer', 3000), exchange: '' };
  active.started(old, 3000);
  assert.equal(active.positions(3000, 60_000)[0]?.inFlight, 3);
  active.ingest(trace(old, 4000), 4000);
  assert.equal(active.positions(4000, 60_000)[0]?.inFlight, 2);
});

test("an agent's pool is learned from its starts and traces", () => {
  const active = new ActiveSessions(100);
  assert.equal(active.poolOf('coding', 'planner'), undefined);
  active.started({ ...start('r1', 'planner', 0), pool: 'large' }, 0);
  active.ingest(trace({ ...start('r2', 'explorer', 10), pool: 'small' }, 20), 20);
  assert.equal(active.poolOf('coding', 'planner'), 'large');
  assert.equal(active.poolOf('coding', 'explorer'), 'small');
  assert.equal(active.poolOf('research', 'planner'), undefined, 'per workflow');
});
