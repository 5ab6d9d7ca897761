// Issue #13 item 1: distinct sessions without an end marker, and distinct agent names,
// through ext-proc's real message handling: every per-session and per-agent table stays
// within its entry bound and its byte bound (an estimate counting real per-entry overhead,
// so empty prompts and outputs are not free), and idle sessions are forgotten on the clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import type { HeaderValue } from '../../common/src/envoy/ext-proc-messages.js';
import { ManualClock } from '../../test-support/src/manual-clock.js';
import { ExtProcMetrics } from '../src/adapters/metrics.js';
import { settingsFromConfig } from '../src/adapters/service.js';
import { StreamProcessor } from '../src/core/envoy/stream-processor.js';
import { createGatewayCore, type GatewayCore } from '../src/core/routing/gateway-core.js';

const BOUNDS = {
  ext_proc: { max_tracked_sessions: 400, session_budget_bytes: 64 * 1024, session_idle_s: 60 },
  scheduler: {
    scrape_interval_ms: 0,
    reactive_profile: 'prefix-aware',
    // Off by default since the lever measurements; on here so its tables fill and are bounded.
    levers: { warming: true },
    prefix: { max_blocks: 300, budget_bytes: 32 * 1024, block_bytes: 64 },
    warming: { max_prompts: 100, prompt_budget_bytes: 16 * 1024, history_budget_bytes: 48 * 1024 },
  },
};

function setup(): { core: GatewayCore; clock: ManualClock; exchange: (i: number, system: string) => void } {
  const config = parseConfig({
    ...BOUNDS,
    pools: [{ name: 'p', models: ['m'], endpoints: [{ address: '127.0.0.1:8000' }] }],
  });
  const clock = new ManualClock(0);
  const core = createGatewayCore(config, { clock, random: () => 0.5 });
  const settings = settingsFromConfig(config);
  const metrics = new ExtProcMetrics(false);
  let ids = 0;
  const hv = (pairs: Array<[string, string]>): HeaderValue[] =>
    pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));
  const output = Buffer.from(JSON.stringify({ choices: [{ message: { role: 'assistant', content: '' } }] }));
  const exchange = (i: number, system: string) => {
    const p = new StreamProcessor(settings, core.router, metrics, clock, () => `r${ids++}`);
    p.handle({
      request_headers: {
        headers: {
          headers: hv([
            [':method', 'POST'],
            [':path', '/v1/chat/completions'],
            ['x-pythia-workflow', 'w'],
            ['x-pythia-session', `s${i}`],
            ['x-pythia-agent', `a${i}`],
          ]),
        },
      },
    });
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: '' },
      ],
    };
    p.handle({ request_body: { body: Buffer.from(JSON.stringify(body)), end_of_stream: true } });
    p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
    p.handle({ response_body: { body: output, end_of_stream: true } });
    p.close();
  };
  return { core, clock, exchange };
}

function assertWithin(core: GatewayCore, at: string): void {
  const tables = [
    ['tracker', core.sessions, 400, 64 * 1024],
    ['affinity', core.affinity, 400, 64 * 1024],
    ['history', core.history, 400, 48 * 1024],
    ['prompts', core.prompts, 100, 16 * 1024],
    ['prefix', core.prefixIndex, 300, 32 * 1024],
  ] as const;
  for (const [name, t, entries, bytes] of tables) {
    assert.ok(t.size <= entries, `${name} entries ${t.size} > ${entries} at ${at}`);
    assert.ok(t.sizeBytes <= bytes, `${name} bytes ${t.sizeBytes} > ${bytes} at ${at}`);
  }
}

test('a flood of distinct sessions and agents with empty texts stays within every bound', () => {
  const { core, clock, exchange } = setup();
  for (let i = 0; i < 5000; i++) {
    // Empty and short prompts alike: each entry still costs its overhead.
    exchange(i, i % 2 === 0 ? '' : `agent ${i} `.repeat(20));
    clock.advance(1);
    assertWithin(core, `request ${i}`);
  }
  // The byte bounds bind before the entry bounds: empty strings are not free.
  assert.ok(core.history.size < 400, `history ${core.history.size}`);
  assert.ok(core.history.size > 0 && core.prompts.size > 0 && core.prefixIndex.size > 0);
  assert.ok(core.sessions.sizeBytes > 0.4 * 64 * 1024, 'the estimate fills the budget');
});

test('idle sessions are forgotten on the injected clock', () => {
  const { core, clock, exchange } = setup();
  for (let i = 0; i < 50; i++) exchange(i, 'hello');
  assert.equal(core.sessions.size, 50);
  clock.advance(61_000);
  exchange(1000, 'hello');
  clock.advance(30_000);
  exchange(1001, 'hello');
  assert.equal(core.sessions.size, 2, 'only sessions seen within session_idle_s are held');
  assert.equal(core.affinity.size, 2);
  assert.equal(core.history.size, 2);
});
