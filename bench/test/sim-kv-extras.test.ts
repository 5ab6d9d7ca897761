// The engine's optional KV extras: the host-memory tier (evicted blocks loaded back over PCIe)
// and session retention (a finished request's blocks pinned until the next turn or a TTL).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplicaEngine } from '../src/sim/engine.js';
import { KvPins } from '../src/sim/kv-pins.js';
import { H100_LLAMA_8B, type ReplicaProfile } from '../src/sim/profiles.js';
import type { Run } from '../src/sim/token-streams.js';
import { runUntilIdle as drain, engineRequest as request } from './engine-driver.js';

/** 20k tokens of KV (1,250 blocks): small enough to fill from a test. */
const SMALL: ReplicaProfile = { ...H100_LLAMA_8B, kvCapacityTokens: 20_000 };

/**
 * Rounds of three requests with fresh content (6k tokens each by default): they push older
 * blocks out. Freed blocks go on the LRU list tail first (as vLLM frees them), so one round
 * evicts the end of an older context and a second round its start.
 */
function flood(engine: ReplicaEngine, tag: string, startMs: number, tokens = 6000, rounds = 2): number {
  let now = startMs;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 3; i++) {
      const id = `${tag}${round}.${i}`;
      engine.submit(request(id, [{ key: id, tokens }], 10, { arrivalMs: now }));
    }
    now = drain(engine, now).now;
  }
  return now;
}

const context: Run = { key: 'session-context', tokens: 8000 };
const turn2 = (id: string, extra = {}) => request(id, [context, { key: `${id}:obs`, tokens: 96 }], 5, extra);

test('host tier: an evicted prefix is loaded back at the PCIe cost instead of recomputed', () => {
  const run = (hostKvCapacityTokens: number) => {
    const engine = new ReplicaEngine(SMALL, 'fcfs', { hostKvCapacityTokens });
    engine.submit(request('t1', [context], 5));
    const t = flood(engine, 'other', drain(engine).now);
    engine.submit(turn2('t2', { arrivalMs: t }));
    const { first, done } = drain(engine, t);
    return { engine, ttftMs: (first.get('t2') ?? 0) - t, cached: done.get('t2')?.cachedTokens ?? -1 };
  };
  const without = run(0);
  const withTier = run(2_000_000);
  assert.equal(without.cached, 0, 'without a tier the flood evicted the context');
  assert.equal(withTier.cached, 8000, 'every block of the context came back from host memory');
  assert.equal(withTier.engine.hostTokensTotal, 8000);
  // Loading 8,000 tokens: 8000 x 2.36 us = 18.9 ms, then one step prefills the 96 new tokens.
  const load = 8000 * H100_LLAMA_8B.hostLoadMsPerToken;
  assert.ok(withTier.ttftMs >= load, `TTFT ${withTier.ttftMs} covers the load ${load}`);
  assert.ok(withTier.ttftMs < load + 15, `TTFT ${withTier.ttftMs} is the load plus about one step`);
  assert.ok(without.ttftMs > 150, `recomputing 8k tokens takes ${without.ttftMs} ms`);
});

test('host tier: loads share the one PCIe link, and the LRU capacity bounds what is kept', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs', { hostKvCapacityTokens: 2_000_000 });
  const a: Run = { key: 'ctx-a', tokens: 4000 };
  const b: Run = { key: 'ctx-b', tokens: 4000 };
  engine.submit(request('a1', [a], 5));
  engine.submit(request('b1', [b], 5));
  const t = flood(engine, 'x', drain(engine).now);
  engine.submit(request('a2', [a, { key: 'a2', tokens: 32 }], 5, { arrivalMs: t }));
  engine.submit(request('b2', [b, { key: 'b2', tokens: 32 }], 5, { arrivalMs: t }));
  const { first } = drain(engine, t);
  const per = 4000 * H100_LLAMA_8B.hostLoadMsPerToken;
  // b2's load starts when a2's is done: its first token comes at least two loads in.
  assert.ok((first.get('b2') ?? 0) - t >= 2 * per, 'the second load queued behind the first');
  assert.ok((first.get('a2') ?? 0) - t < 2 * per, 'the first did not wait for the second');

  // A tier of 4,000 tokens keeps only the most recently evicted 250 blocks.
  const tiny = new ReplicaEngine(SMALL, 'fcfs', { hostKvCapacityTokens: 4000 });
  tiny.submit(request('c1', [context], 5));
  const t2 = flood(tiny, 'y', drain(tiny).now);
  assert.equal(tiny.hostBlocks, 250);
  tiny.submit(turn2('c2', { arrivalMs: t2 }));
  assert.equal(drain(tiny, t2).done.get('c2')?.cachedTokens, 0, 'the context fell out of the small tier');
});

test('retention: a pinned session keeps its KV through other traffic; the next turn takes it', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs');
  engine.submit(request('t1', [context], 40, { retention: { key: 's', ttlMs: 60_000 } }));
  const t = drain(engine).now;
  // 8,000 prompt + 40 output tokens: 502 full blocks pinned, counted as used KV.
  assert.equal(engine.pinnedRefs, Math.floor(8040 / 16));
  assert.ok(Math.abs(engine.kvUsage - 502 / 1250) < 1e-9);
  // 8k pinned leaves 748 blocks: two 5k requests fit at once, so the pin is never needed
  // for them, while their 15k of fresh content would push an unpinned context out.
  const t2 = flood(engine, 'other', t, 5000);
  assert.equal(engine.preemptionsTotal, 0);
  engine.submit(turn2('t2', { arrivalMs: t2, retention: { key: 's', ttlMs: 0 } }));
  const { done } = drain(engine, t2);
  assert.equal(done.get('t2')?.cachedTokens, 8000, 'the whole context was still there');
  assert.equal(engine.pinnedRefs, 0, 'the next turn took the pin (TTL 0 pins nothing new)');

  // The same traffic without the hint evicts the context.
  const plain = new ReplicaEngine(SMALL, 'fcfs');
  plain.submit(request('t1', [context], 40));
  const p = flood(plain, 'other', drain(plain).now, 5000);
  plain.submit(turn2('t2', { arrivalMs: p }));
  assert.equal(drain(plain, p).done.get('t2')?.cachedTokens, 0);
});

test('retention: a pin expires after its TTL and its blocks become evictable again', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs');
  engine.submit(request('t1', [context], 40, { retention: { key: 's', ttlMs: 5_000 } }));
  const t = drain(engine).now;
  engine.expire(t + 4_999);
  assert.equal(engine.pinnedRefs, 502, 'still pinned just before the TTL');
  engine.expire(t + 5_000);
  assert.equal(engine.pinnedRefs, 0);
  assert.equal(engine.kvUsage, 0, 'expired blocks are free (cached, evictable)');
  const t2 = flood(engine, 'other', t + 5_000, 6000, 1);
  engine.submit(turn2('t2', { arrivalMs: t2, retention: { key: 's', ttlMs: 0 } }));
  // Released tail first (as vLLM frees blocks), so the flood evicted the end of the context
  // and left its start: a partial hit, where the pin had kept all of it.
  const cached = drain(engine, t2).done.get('t2')?.cachedTokens ?? -1;
  assert.ok(cached > 0 && cached < 8000, `after expiry the flood evicted part of it (${cached} left)`);
});

test('retention under KV pressure: pinned KV is used capacity, so a new request waits for running work', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs');
  engine.submit(request('t1', [context], 40, { retention: { key: 's', ttlMs: 600_000 } }));
  const t = drain(engine).now;
  // 502 blocks pinned; a running request takes 126 more and grows; a 10k-token one (626
  // blocks) does not fit beside both: it waits for the running one instead of taking the pin.
  engine.submit(request('r', [{ key: 'r', tokens: 2000 }], 300, { arrivalMs: t }));
  const t1 = t + (engine.step(t)?.durationMs ?? 0);
  engine.submit(request('w', [{ key: 'w', tokens: 10_000 }], 5, { arrivalMs: t1 }));
  const { first, done } = drain(engine, t1);
  assert.ok((first.get('w') ?? 0) >= (done.get('r')?.endMs ?? Infinity), 'w started after r finished');
  assert.equal(engine.pinnedRefs, 502, 'the pin outlived the queue');
  assert.equal(engine.preemptionsTotal, 0);
});

test('retention under KV pressure: an idle replica and decode growth release pins, earliest expiry first, before any preemption', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs');
  const a: Run = { key: 'ctx-a', tokens: 6000 };
  const b: Run = { key: 'ctx-b', tokens: 6000 };
  engine.submit(request('a1', [a], 16, { retention: { key: 'a', ttlMs: 100_000 } }));
  engine.submit(request('b1', [b], 16, { retention: { key: 'b', ttlMs: 50_000 } }));
  const t = drain(engine).now;
  assert.equal(engine.pinnedRefs, 2 * 376);
  // 12k pinned of 20k: a 9k-token request only fits once a pin goes; b's expires first.
  engine.submit(request('big', [{ key: 'big', tokens: 9000 }], 10, { arrivalMs: t }));
  const { done } = drain(engine, t);
  assert.ok(done.has('big'), 'the request ran');
  assert.equal(engine.preemptionsTotal, 0, 'releasing a pin made room; nothing was preempted');
  assert.equal(engine.pinnedRefs, 376, "a's pin (later expiry) is still held");
  engine.submit(
    request('a2', [a, { key: 'a2', tokens: 16 }], 5, { arrivalMs: 0, retention: { key: 'a', ttlMs: 0 } }),
  );
  assert.equal(drain(engine, t + 1000).done.get('a2')?.cachedTokens, 6000 - (6000 % 16));

  // Decode growth under pressure also takes pins before preempting: one pinned 12k context,
  // then two requests whose decoding needs more than the 8k left.
  const growth = new ReplicaEngine(SMALL, 'fcfs');
  growth.submit(
    request('p', [{ key: 'p', tokens: 12_000 }], 16, { retention: { key: 'p', ttlMs: 100_000 } }),
  );
  const g = drain(growth).now;
  growth.submit(request('d1', [{ key: 'd1', tokens: 2000 }], 2500, { arrivalMs: g }));
  growth.submit(request('d2', [{ key: 'd2', tokens: 2000 }], 2500, { arrivalMs: g }));
  const result = drain(growth, g);
  assert.equal(result.done.size, 2);
  assert.equal(growth.pinnedRefs, 0, 'the pin was released for the decode growth');
  assert.equal(growth.preemptionsTotal, 0);
});

test('requests without hints behave exactly as before: no pins, no tier, no loads', () => {
  const engine = new ReplicaEngine(SMALL, 'fcfs');
  engine.submit(request('t1', [context], 40));
  drain(engine);
  assert.equal(engine.pinnedRefs, 0);
  assert.equal(engine.hostBlocks, 0);
  assert.equal(engine.hostTokensTotal, 0);
  assert.equal(engine.kvUsage, 0);
});

test('pins are bounded in count and in block references; the earliest-expiring go first', () => {
  const pins = new KvPins(3, 10);
  assert.deepEqual(pins.add('a', [1, 2], 300), []);
  assert.deepEqual(pins.add('b', [3, 4], 100), []);
  assert.deepEqual(pins.add('c', [5], 200), []);
  // A fourth pin: over the count bound, so b (earliest expiry) is released.
  assert.deepEqual(
    pins.add('d', [6], 400).map((p) => p.key),
    ['b'],
  );
  // Six more references: the count bound releases c (4 refs held become 3), then 3 + 6 fits.
  assert.deepEqual(
    pins.add('e', [7, 8, 9, 10, 11, 12], 500).map((p) => p.key),
    ['c'],
  );
  assert.equal(pins.heldRefs, 9);
  // Two more would exceed both bounds (10 references, 3 pins): a, the earliest expiry, goes.
  assert.deepEqual(
    pins.add('g', [13, 14], 450).map((p) => p.key),
    ['a'],
  );
  // A pin over the bound on its own is refused (returned for release) and nothing else goes.
  assert.deepEqual(
    pins
      .add(
        'f',
        Array.from({ length: 11 }, (_, i) => i),
        600,
      )
      .map((p) => p.key),
    ['f'],
  );
  assert.equal(pins.size, 3);
  assert.deepEqual(
    pins.expire(450).map((p) => p.key),
    ['d', 'g'],
  );
  assert.deepEqual(
    pins.claim('e').map((p) => p.key),
    ['e'],
  );
  assert.equal(pins.heldRefs, 0);
});
