import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Prediction } from '../../core/src/workflow/predictor.js';
import type { AgentStats } from '../../core/src/workflow/workflow-model.js';
import { retentionFor } from '../src/core/routing/retention.js';

const prediction = (next: Array<[string, number]>): Prediction => ({
  mode: 'proactive',
  known: true,
  nextAgents: next.map(([role, probability]) => ({ role, probability })),
  endProbability: 0,
  expectedRemainingStages: 3,
  expectedRemainingRequests: 3,
  expectedNextFanout: 1,
  outputBound: 100,
});
const coder = {
  agent: 'coder',
  durationP50Ms: 3000,
  toolTimeP50Ms: 250,
  toolTimeP90Ms: 6000,
} as AgentStats;
const settings = { minProbability: 0.5, marginMs: 1000, maxTtlMs: 60_000 };
const facts = {
  session: 's1',
  sessionEnd: false,
  prediction: prediction([['coder', 0.9]]),
  proactive: true,
  agent: coder,
  siblingsInFlight: 0,
};

test('a likely next agent: keep the KV for the learned tool time (p90) plus the margin', () => {
  assert.deepEqual(retentionFor(facts, settings), { key: 's1', ttlMs: 7000 });
});

test('a fan-out sibling also waits about one request for the rest of its stage', () => {
  assert.deepEqual(retentionFor({ ...facts, siblingsInFlight: 2 }, settings), { key: 's1', ttlMs: 10_000 });
});

test('bounded by max_ttl_s', () => {
  assert.equal(retentionFor(facts, { ...settings, maxTtlMs: 4000 })?.ttlMs, 4000);
});

test('no hint when the next agent is unlikely, unknown, or the workflow is not proactive', () => {
  assert.equal(retentionFor({ ...facts, prediction: prediction([['coder', 0.4]]) }, settings), null);
  assert.equal(retentionFor({ ...facts, prediction: prediction([]) }, settings), null);
  assert.equal(retentionFor({ ...facts, proactive: false }, settings), null);
  assert.equal(retentionFor({ ...facts, agent: undefined }, settings), null);
  assert.equal(retentionFor({ ...facts, prediction: null }, settings), null);
});

test("the session's last request releases what the session holds", () => {
  assert.deepEqual(retentionFor({ ...facts, sessionEnd: true, proactive: false }, settings), {
    key: 's1',
    ttlMs: 0,
  });
});
