import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../common/src/config/load.js';
import { runCluster } from '../src/sim/cluster.js';
import { H100_LLAMA_8B } from '../src/sim/profiles.js';
import { readReplayFile } from '../../test-support/src/workloads/trace-replay.js';

test('the example trace replays; malformed lines are reported with their numbers and skipped', () => {
  const example = readReplayFile(new URL('../traces/example.jsonl', import.meta.url).pathname);
  assert.deepEqual(example.errors, []);
  assert.equal(example.sessions.length, 2);
  const lines = [
    '{"workflow":"w","session":"a","arrival_s":0,"steps":[{"agent":"x","stage":0,"prefix":"p","prefix_tokens":100,"new_tokens":10,"output_tokens":5,"unknown_field":1}]}',
    '{"workflow":"w","session":"b","arrival_s":"soon","steps":[]}',
    'not json',
    '{"workflow":"w","session":"c","arrival_s":1,"steps":[{"agent":"bad agent","stage":0,"prefix":"p","output_tokens":5}]}',
  ];
  const path = join(mkdtempSync(join(tmpdir(), 'replay-')), 't.jsonl');
  writeFileSync(path, lines.join('\n'));
  const parsed = readReplayFile(path);
  assert.deepEqual(
    parsed.sessions.map((s) => s.session),
    ['a'],
  );
  assert.deepEqual(
    parsed.errors.map((e) => e.line),
    [2, 3, 4],
  );
  assert.match(parsed.errors[0]?.message ?? '', /arrival_s/);
  assert.match(parsed.errors[2]?.message ?? '', /steps\[0\]\.agent/);
});

test('a replayed trace runs on the simulated cluster, stages in order', () => {
  const { sessions } = readReplayFile(new URL('../traces/example.jsonl', import.meta.url).pathname);
  const config = parseConfig({
    pools: [{ name: 'llama', models: ['llama'] }],
    scheduler: { scrape_interval_ms: 1000 },
  });
  const r = runCluster({
    config,
    pools: [{ name: 'llama', models: ['llama'], replicas: 2, profile: H100_LLAMA_8B }],
    priorityScheduling: false,
    learn: true,
    plans: sessions,
    seed: 1,
  });
  assert.equal(r.sessionsCompleted, 2);
  assert.equal(r.requests, 6);
  // s-1: its resolver stage waits for the classifier and 1.5 s of tool time after the slower resolver.
  assert.ok((r.jctS[0] ?? 0) > 1.5);
  assert.equal(r.outputTokens, 40 + 350 + 300 + 220 + 35 + 180);
});

test('trace lines may name a thread and what a step publishes; bad values are reported', () => {
  const lines = [
    '{"workflow":"w","session":"a","arrival_s":0,"steps":[{"agent":"s","stage":0,"prefix":"p","new_tokens":9000,"output_tokens":400,"thread":"searcher-1","publish":"output"}]}',
    '{"workflow":"w","session":"b","arrival_s":0,"steps":[{"agent":"s","stage":0,"prefix":"p","output_tokens":5,"publish":"some"}]}',
    '{"workflow":"w","session":"c","arrival_s":0,"steps":[{"agent":"s","stage":0,"prefix":"p","output_tokens":5,"thread":"no spaces"}]}',
  ];
  const path = join(mkdtempSync(join(tmpdir(), 'replay-')), 't.jsonl');
  writeFileSync(path, lines.join('\n'));
  const parsed = readReplayFile(path);
  assert.deepEqual(parsed.sessions[0]?.steps[0], {
    agent: 's',
    stage: 0,
    prefix: 'p',
    prefixTokens: 0,
    history: false,
    newTokens: 9000,
    outputTokens: 400,
    afterS: 0,
    thread: 'searcher-1',
    publish: 'output',
  });
  assert.deepEqual(
    parsed.errors.map((e) => e.line),
    [2, 3],
  );
  assert.match(parsed.errors[0]?.message ?? '', /steps\[0\]\.publish/);
  assert.match(parsed.errors[1]?.message ?? '', /steps\[0\]\.thread/);
});
