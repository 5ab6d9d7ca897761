// The simulator's calibration points (../shared/simulator-model.md), within ~15%.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplicaEngine, type SimRequest } from '../src/sim/engine.js';
import { A100_QWEN_14B, H100_LLAMA_8B, stepTimeMs } from '../src/sim/profiles.js';
import { blockHashes } from '../src/sim/token-streams.js';

const within = (actual: number, lo: number, hi: number, what: string) =>
  assert.ok(
    actual >= lo * 0.85 && actual <= hi * 1.15,
    `${what}: ${actual.toFixed(2)} not within 15% of ${lo}-${hi}`,
  );

function request(id: string, promptTokens: number, outputTokens: number, key = id): SimRequest {
  const runs = [{ key, tokens: promptTokens }];
  return {
    id,
    promptBlocks: blockHashes(runs, 16),
    fullBlocks: blockHashes([...runs, { key: `${id}:out`, tokens: outputTokens }], 16),
    promptTokens,
    outputTokens,
    priority: 0,
    arrivalMs: 0,
  };
}

function runUntilIdle(engine: ReplicaEngine) {
  let now = 0;
  const first = new Map<string, number>();
  const done = new Map<string, { endMs: number; cachedTokens: number }>();
  for (;;) {
    const out = engine.step(now);
    if (!out) break;
    now += out.durationMs;
    for (const f of out.firstTokens) first.set(f.id, now);
    for (const r of out.finished) done.set(r.id, r);
  }
  return { now, first, done };
}

test('decode step, batch 1, 1k context: 7-8 ms', () => {
  within(
    stepTimeMs(H100_LLAMA_8B, { tokens: 1, running: 1, decodeContextTokens: 1000, prefillChunks: [] }),
    7,
    8,
    'step',
  );
});

test('decode step, batch 64, 1k context each: 11-12 ms', () => {
  within(
    stepTimeMs(H100_LLAMA_8B, { tokens: 64, running: 64, decodeContextTokens: 64_000, prefillChunks: [] }),
    11,
    12,
    'step',
  );
});

test('time to first token of a 1k prompt on an idle replica: 28-35 ms', () => {
  const engine = new ReplicaEngine(H100_LLAMA_8B, 'fcfs');
  engine.submit(request('a', 1000, 1));
  within(runUntilIdle(engine).first.get('a') ?? 0, 28, 35, 'TTFT');
});

test('a 68k-token prompt from scratch: about 4 s', () => {
  const engine = new ReplicaEngine(H100_LLAMA_8B, 'fcfs');
  engine.submit(request('long', 68_000, 1));
  within((runUntilIdle(engine).first.get('long') ?? 0) / 1000, 4, 4, 'prefill');
});

test('saturated decode at batch 256, 1k context: about 10,000 output tokens/s', () => {
  const shape = { tokens: 256, running: 256, decodeContextTokens: 256 * 1000, prefillChunks: [] };
  within(256 / (stepTimeMs(H100_LLAMA_8B, shape) / 1000), 10_000, 10_000, 'tokens/s');
});

test('the A100 profile: half the KV budget, steps 1.8x slower', () => {
  const shape = { tokens: 1, running: 1, decodeContextTokens: 1000, prefillChunks: [] };
  assert.equal(A100_QWEN_14B.kvCapacityTokens, 230_000);
  assert.ok(Math.abs(stepTimeMs(A100_QWEN_14B, shape) / stepTimeMs(H100_LLAMA_8B, shape) - 1.8) < 1e-9);
});

test('prefix cache: a repeated prompt prefix is served from cache; outputs stay cached for the next turn', () => {
  const engine = new ReplicaEngine(H100_LLAMA_8B, 'fcfs');
  engine.submit(request('first', 4000, 10, 'shared-system'));
  runUntilIdle(engine);
  engine.submit(request('second', 4000, 10, 'shared-system'));
  const { done } = runUntilIdle(engine);
  assert.equal(done.get('second')?.cachedTokens, 4000 - (4000 % 16));
});

test('KV exhaustion preempts (most recent first) and every request still completes', () => {
  const tiny = { ...H100_LLAMA_8B, kvCapacityTokens: 20_000 };
  const engine = new ReplicaEngine(tiny, 'fcfs');
  for (let i = 0; i < 12; i++) engine.submit(request(`r${i}`, 1000, 800));
  const { done } = runUntilIdle(engine);
  assert.equal(done.size, 12);
  assert.ok(engine.preemptionsTotal > 0, 'preemptions happened');
});

test('priority scheduling admits lower values first', () => {
  const engine = new ReplicaEngine({ ...H100_LLAMA_8B, maxNumSeqs: 1 }, 'priority');
  engine.submit({ ...request('late', 100, 5), priority: 90 });
  engine.submit({ ...request('urgent', 100, 5), priority: 1 });
  const { done } = runUntilIdle(engine);
  assert.ok((done.get('urgent')?.endMs ?? 0) < (done.get('late')?.endMs ?? 0));
});
