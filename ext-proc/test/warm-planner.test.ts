import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentPrompts } from '../src/core/routing/agent-prompts.js';
import { PrefixIndex } from '../src/core/routing/prefix-index.js';
import type { SchedulingDecision } from '../src/core/scheduling/types.js';
import { SessionAffinity } from '../src/core/routing/session-affinity.js';
import { SessionHistory } from '../src/core/routing/session-history.js';
import { WarmPlanner, type WarmSettings, warmBody } from '../src/core/routing/warm-planner.js';

const settings: WarmSettings = {
  minProbability: 0.5,
  maxPerEndpoint: 1,
  maxPerSecond: 2,
  busyWaiting: 4,
  reservationMs: 60_000,
  blockChars: 64,
};
const decision = (endpoint: string): SchedulingDecision => ({
  pool: 'p',
  endpoint,
  fallbacks: [],
  profile: 'pythia',
  trace: [],
});
const session = { workflow: 'coding', session: 's1', agent: 'planner' };

const BOUNDS = { maxEntries: 1000, maxBytes: 1 << 20, idleMs: 3_600_000 };
const atZero = () => 0;

function setup() {
  const prompts = new AgentPrompts(BOUNDS, 1 << 16, atZero);
  prompts.observe('coding', 'explorer', 'llama', {
    messages: [
      { role: 'system', content: 'You explore. '.repeat(40) },
      { role: 'user', content: 'x' },
    ],
  });
  const index = new PrefixIndex({ maxBlocks: 10_000, maxBytes: 1 << 24, ttlMs: 600_000 }, atZero);
  const affinity = new SessionAffinity({ ...BOUNDS, maxEntries: 100 }, atZero);
  const waiting = new Map<string, number>();
  const running = new Map<string, number>();
  const planner = new WarmPlanner(
    settings,
    prompts,
    index,
    affinity,
    (a) => ({ waiting: waiting.get(a) ?? 0, running: running.get(a) ?? 0, inFlight: 0 }) as never,
  );
  return { planner, index, affinity, waiting, running };
}

test('warms the predicted next agent where it will run, and reserves that endpoint', () => {
  const { planner, affinity } = setup();
  const out = planner.plan(session, { agent: 'explorer', probability: 0.9 }, 300, () => decision('e1'), 0);
  assert.equal(out.kind, 'warm');
  if (out.kind !== 'warm') return;
  assert.equal(out.plan.endpoint, 'e1');
  assert.equal(out.plan.model, 'llama');
  assert.match(out.plan.messages[0]?.content ?? '', /^You explore/);
  assert.deepEqual(affinity.reservation('coding', 's1', 1), { agent: 'explorer', endpoint: 'e1' });
});

test('skips unlikely, unknown, already cached, busy and over-budget warms', () => {
  const { planner, waiting } = setup();
  assert.deepEqual(
    planner.plan(session, { agent: 'explorer', probability: 0.3 }, null, () => decision('e1'), 0),
    { kind: 'skip', reason: 'low_probability' },
  );
  assert.deepEqual(
    planner.plan(session, { agent: 'writer', probability: 0.9 }, null, () => decision('e1'), 0),
    { kind: 'skip', reason: 'no_prompt' },
  );
  assert.equal(
    planner.plan(session, { agent: 'explorer', probability: 0.9 }, null, () => decision('e1'), 0).kind,
    'warm',
  );
  assert.deepEqual(
    planner.plan(
      { ...session, session: 's2' },
      { agent: 'explorer', probability: 0.9 },
      null,
      () => decision('e1'),
      1,
    ),
    {
      kind: 'skip',
      reason: 'already_cached',
      reserved: { endpoint: 'e1', untilMs: 60001 },
    },
  );
  waiting.set('e2', 10);
  assert.deepEqual(
    planner.plan(
      { ...session, session: 's3' },
      { agent: 'explorer', probability: 0.9 },
      null,
      () => decision('e2'),
      2,
    ),
    {
      kind: 'skip',
      reason: 'busy',
      reserved: { endpoint: 'e2', untilMs: 60002 },
    },
  );
  // e1 has one warm in flight (max 1); a different endpoint still has room but the rate
  // budget (2/s, one spent) allows one more now and none after that.
  assert.equal(
    planner.plan(
      { ...session, session: 's4' },
      { agent: 'explorer', probability: 0.9 },
      null,
      () => decision('e3'),
      3,
    ).kind,
    'warm',
  );
  assert.deepEqual(
    planner.plan(
      { ...session, session: 's5' },
      { agent: 'explorer', probability: 0.9 },
      null,
      () => decision('e4'),
      4,
    ),
    {
      kind: 'skip',
      reason: 'rate_budget',
      reserved: { endpoint: 'e4', untilMs: 60004 },
    },
  );
  planner.done('e3');
});

test('with the session history on the same model, the warm carries it after the system prompt', () => {
  const { planner } = setup();
  const history = new SessionHistory(BOUNDS, 1 << 16, atZero);
  history.record(
    'coding',
    's9',
    'llama',
    {
      messages: [
        { role: 'system', content: 'planner sys' },
        { role: 'user', content: 'fix the bug' },
      ],
    },
    'plan: read x.ts',
  );
  const out = planner.plan(
    { ...session, session: 's9' },
    { agent: 'explorer', probability: 0.9 },
    null,
    () => decision('e7'),
    0,
    history.get('coding', 's9') ?? null,
  );
  assert.equal(out.kind, 'warm');
  if (out.kind !== 'warm') return;
  assert.equal(out.plan.withHistory, true);
  const body = JSON.parse(warmBody(out.plan));
  assert.equal(body['max_tokens'], 1);
  assert.equal('priority' in body, false, 'the router adds priority only for priority pools');
  assert.deepEqual(out.plan.messages.slice(1), [
    { role: 'user', content: 'fix the bug' },
    { role: 'assistant', content: 'plan: read x.ts' },
  ]);
  // Another model's history is not a prefix there: system prompt only.
  history.record('coding', 's10', 'qwen', { messages: [{ role: 'user', content: 'x' }] }, 'y');
  const other = planner.plan(
    { ...session, session: 's10' },
    { agent: 'explorer', probability: 0.9 },
    null,
    () => decision('e8'),
    5000,
    history.get('coding', 's10') ?? null,
  );
  assert.equal(other.kind === 'warm' && other.plan.messages.length, 1);
});

test('session history stays within its byte budgets', () => {
  // Per session 1000 bytes, overhead included (an entry of two 50-character messages is ~600).
  const history = new SessionHistory({ ...BOUNDS, maxBytes: 4000 }, 1000, atZero);
  history.record('w', 'big', 'm', { messages: [{ role: 'user', content: 'x'.repeat(900) }] }, '');
  assert.equal(history.get('w', 'big'), undefined, 'over the per-session bound');
  for (let i = 0; i < 20; i++)
    history.record(
      'w',
      `s${i}`,
      'm',
      { messages: [{ role: 'user', content: 'x'.repeat(50) }] },
      'y'.repeat(50),
    );
  assert.ok(history.sizeBytes <= 4000);
  assert.ok(history.get('w', 's19'));
  assert.equal(history.get('w', 's0'), undefined);
});

test("the per-session bound counts a history's messages, not only their text", () => {
  const history = new SessionHistory(BOUNDS, 64 * 1024, atZero);
  // 2000 empty messages: no text, but ~110 KiB of objects (within the table's 1 MiB).
  const messages = Array.from({ length: 2000 }, () => ({ role: 'user', content: '' }));
  history.record('w', 'many', 'm', { messages }, '');
  assert.equal(history.get('w', 'many'), undefined);
  history.put('w', 'remote', { model: 'm', messages });
  assert.equal(history.get('w', 'remote'), undefined, 'from another replica too');
  assert.equal(history.size, 0);
});

test('a warm is sent only when the prefill it is expected to save exceeds its cost at the target', () => {
  const { planner, running } = setup();
  running.set('e1', 3);
  // 0.7 / 0.3 = 2.3 requests: a wasted warm's prefill would stall 3 running there.
  assert.deepEqual(
    planner.plan(session, { agent: 'explorer', probability: 0.7 }, null, () => decision('e1'), 0),
    { kind: 'skip', reason: 'not_worth', reserved: { endpoint: 'e1', untilMs: 60000 } },
  );
  running.set('e1', 2);
  const out = planner.plan(session, { agent: 'explorer', probability: 0.7 }, null, () => decision('e1'), 1);
  assert.equal(out.kind, 'warm', 'two running: worth it');
  running.set('e2', 50);
  const sure = planner.plan(
    { ...session, session: 's2' },
    { agent: 'explorer', probability: 1 },
    null,
    () => decision('e2'),
    2,
  );
  assert.equal(
    sure.kind,
    'warm',
    'a certain next agent is worth warming however busy (the busy check aside)',
  );
});
