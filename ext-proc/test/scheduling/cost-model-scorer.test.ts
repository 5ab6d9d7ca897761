import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionCounts, zeroLoad } from '../../../core/src/cluster/cluster-state.js';
import { sessionKey } from '../../../core/src/workflow/identifiers.js';
import { chainedBlockHashes } from '../../../core/src/prompt/prefix-hash.js';
import { costModelScorer, placementCostMs } from '../../src/core/scheduling/plugins/cost-model-scorer.js';
import { endpoint, request, sequence } from './helpers.js';

const scorer = costModelScorer.create(costModelScorer.parameters!.parse({}));
const running = (n: number, contextPerRequest = 8000) => ({
  inFlight: n,
  running: n,
  local: { ...zeroLoad(), inFlight: n, reservedTokens: n * contextPerRequest, decodeTokens: n * 300 },
});
const prompt = 'S'.repeat(8192) + 'q'.repeat(1024);
const hashes = chainedBlockHashes(prompt, 1024);
const big = { ...request, promptTokens: 8000, outputExpected: 300, outputBound: 900, prefixHashes: hashes };

test('the cached prefix wins between equally loaded endpoints: it saves prefill', () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'warm', 1000);
  const scores = scorer.score(big, [endpoint('cold', running(2)), endpoint('warm', running(2))], ctx);
  assert.equal(scores[1], 1);
  assert.ok((scores[0] ?? 1) < 1, `cold ${scores[0]}`);
});

test('affinity never outweighs a much busier endpoint: longer steps cost more than the prefill saved', () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'warm', 1000);
  // Both within the load bound ((8 + 12 + 1) / 2 x 1.25 + 1 = 14.1): the cost alone decides.
  const busy = { ...running(12, 20_000), waiting: 4 };
  const scores = scorer.score(big, [endpoint('cold', running(8)), endpoint('warm', busy)], ctx);
  assert.equal(scores[0], 1, `scores ${scores.join(',')}`);
  assert.ok((scores[1] ?? 0) > 0 && (scores[1] ?? 1) < 1, `scores ${scores.join(',')}`);
});

test('past the load bound an endpoint scores 0 when its cache saves little prefill', () => {
  const ctx = sequence(0);
  // 3k tokens of a 9k prompt: ~80 ms of prefill saved, under the 250 ms exemption.
  const short = chainedBlockHashes('S'.repeat(3072), 1024);
  ctx.prefixIndex.record(short, 'warm', 1000);
  // Mean in-flight with the new one (4 + 1) / 3; the bound is 1.25 x that + 1 = 3.08.
  const scores = scorer.score(
    big,
    [endpoint('warm', running(3)), endpoint('a', running(1)), endpoint('b', running(0))],
    ctx,
  );
  assert.equal(scores[0], 0);
  assert.ok((scores[2] ?? 0) > 0);
  const allOver = scorer.score(big, [endpoint('warm', running(9))], ctx);
  assert.deepEqual(allOver, [1], 'when every endpoint is past the bound, the cost still orders them');
});

test('the load bound does not throw away a long cached context: the cost weighs it', () => {
  const ctx = sequence(0);
  // A 60k-token thread cached on one endpoint: moving it means ~3.5 s of prefill.
  const long = chainedBlockHashes('T'.repeat(60 * 1024), 1024);
  ctx.prefixIndex.record(long, 'warm', 1000);
  const next = { ...big, promptTokens: 60_000, prefixHashes: long };
  const scores = scorer.score(
    next,
    [endpoint('warm', running(3)), endpoint('a', running(1)), endpoint('b', running(0))],
    ctx,
  );
  assert.equal(scores[0], 1, `scores ${scores.join(',')}`);
});

test('the prefill an endpoint would redo weighs more as the cluster fills up', () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'warm', 1000);
  const parameters = costModelScorer.parameters!;
  const ratio = (backlog: number, n: number) => {
    const s = costModelScorer.create(parameters.parse({ backlog_weight: backlog, load_bound: 100 }));
    const [cold, warm] = s.score(big, [endpoint('cold', running(n)), endpoint('warm', running(n + 1))], ctx);
    return (warm ?? 0) / (cold ?? 1);
  };
  // One more request on the cached endpoint: at light load the cost barely prefers it, near
  // capacity (more requests queue behind the prefill) the prefill saved counts more.
  assert.ok(ratio(1, 12) > ratio(1, 2), `light ${ratio(1, 2)} busy ${ratio(1, 12)}`);
  assert.ok(ratio(1, 12) > ratio(0, 12), 'backlog_weight 0 counts the running batch only');
});

test('a full KV cache makes the request wait for completions there', () => {
  const ctx = sequence(0);
  const full = { ...running(4, 24_000), kvUsage: 0.99 };
  const scores = scorer.score(big, [endpoint('full', full), endpoint('free', running(4, 4000))], ctx);
  assert.equal(scores[1], 1);
  assert.ok((scores[0] ?? 1) < 0.9, `full ${scores[0]}`);
});

test('a faster endpoint is cheaper at equal load', () => {
  const scores = scorer.score(
    big,
    [endpoint('slow', { ...running(2), speed: 0.5 }), endpoint('fast', running(2))],
    sequence(0),
  );
  assert.ok((scores[0] ?? 1) < (scores[1] ?? 0));
});

test('a fan-out sibling is not pulled by the prefix a sibling was just placed with', () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'sibling', 1000);
  const sibling = { ...big, siblingsInFlight: 1 };
  const scores = scorer.score(sibling, [endpoint('sibling', running(3)), endpoint('other', running(2))], ctx);
  assert.equal(scores[1], 1, `scores ${scores.join(',')}`);
  const alone = scorer.score(big, [endpoint('sibling', running(3)), endpoint('other', running(2))], ctx);
  assert.equal(alone[0], 1, `a sequential step still goes where its prefix is: ${alone.join(',')}`);
});

test("a fan-out sibling is pulled by what an earlier stage computed (its own thread's history)", () => {
  const ctx = sequence(0);
  ctx.prefixIndex.record(hashes, 'thread', 1000);
  ctx.prefixIndex.confirm(hashes, 'thread', 1500);
  const sibling = { ...big, siblingsInFlight: 3 };
  const scores = scorer.score(sibling, [endpoint('thread', running(2)), endpoint('other', running(2))], ctx);
  assert.equal(scores[0], 1, `scores ${scores.join(',')}`);
  assert.ok((scores[1] ?? 1) < 1, `scores ${scores.join(',')}`);
});

test('requests placed since the last scrape count as context: their KV is read every step', () => {
  // Two 30k-token requests: just placed (KV usage not scraped yet) or resident (scraped).
  const inFlight = { inFlight: 2, reservedTokens: 60_600, decodeTokens: 600 };
  const placed = { running: 0, local: { ...zeroLoad(), ...inFlight } };
  const resident = { ...placed, running: 2, kvUsage: 0.6 };
  const cost = (patch: object) =>
    placementCostMs(
      costModelScorer.parameters!.parse({}),
      big,
      endpoint('e', patch).endpoint,
      0,
      sequence(0).settings,
    );
  const ratio = cost(placed) / cost(resident);
  assert.ok(ratio > 0.97 && ratio < 1.03, `placed ${cost(placed)} resident ${cost(resident)}`);
});

test("the delay added to a fan-out's siblings counts once: their session waits for the slowest", () => {
  const ctx = sequence(0);
  const sessions = (...keys: string[]) => {
    const counts = new SessionCounts();
    for (const k of keys) counts.add(k);
    return counts;
  };
  // Eight short requests with little context, or four with more; a long prompt's prefill
  // stalls every one of them. When the eight are one session's fan-out, stalling them delays
  // one session, and the endpoint with less context (shorter steps for the whole decode) wins.
  const fanOut = {
    ...running(8, 3000),
    sessions: sessions(...Array<string>(8).fill(sessionKey('wf', 's1'))),
  };
  const distinct = { ...running(8, 3000), sessions: sessions('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h') };
  const few = { ...running(4, 12_000), sessions: sessions('w', 'x', 'y', 'z') };
  const siblings = scorer.score(big, [endpoint('fan-out', fanOut), endpoint('few', few)], ctx);
  assert.equal(siblings[0], 1, `scores ${siblings.join(',')}`);
  const apart = scorer.score(big, [endpoint('fan-out', distinct), endpoint('few', few)], ctx);
  assert.equal(apart[1], 1, `eight sessions delayed cost more: ${apart.join(',')}`);
  // The request's own fan-out still counts request by request: a stage is not piled up.
  const sibling = { ...big, identity: { workflow: 'wf', session: 's1', agent: 'a' }, siblingsInFlight: 8 };
  const own = scorer.score(sibling, [endpoint('fan-out', fanOut), endpoint('few', few)], ctx);
  assert.equal(own[1], 1, `its own siblings: ${own.join(',')}`);
});
