import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withComparisons } from '../src/runner/comparisons.js';
import { parsePolicySpec } from '../src/runner/policy-spec.js';
import {
  DEFAULT_QUEUE_TTL_S,
  type PolicySummary,
  type SummarizedResult,
  flowLine,
  summarize,
  summarizeFlow,
} from '../src/runner/summary.js';

const result: SummarizedResult = {
  // The warm-up session's JCT (1000 s) must not count.
  jctS: [40, 1000, 10, 30, 20],
  jctSessions: ['s4', 'warmup-s0', 's1', 's3', 's2'],
  ttftS: [0.4, 0.1, 0.3, 0.2],
  outputTokens: 1000,
  makespanS: 3,
  cachedTokens: 2,
  promptTokens: 3,
  preemptions: 5,
  gpuSeconds: 12.345,
  warmRequests: 7,
  warmHits: 6,
  warmOutcomes: { sent: 7, cold: 2 },
  nextAgentAccuracy: 0.87654,
  outputBoundCoverage: Number.NaN,
  promotedAtS: 61.26,
};

test('a run is summarised over its measured sessions, with the report fields in order and rounded', () => {
  const s = summarize(result, true, 4.56);
  assert.deepEqual(Object.keys(s), [
    'jct_mean_s',
    'jct_p50_s',
    'jct_p95_s',
    'jct_p99_s',
    'ttft_p50_s',
    'ttft_p95_s',
    'output_tokens_per_s',
    'prefix_hit_rate',
    'preemptions',
    'gpu_seconds',
    'warm_requests',
    'warm_hits',
    'warm_outcomes',
    'sessions_completed',
    'next_agent_accuracy',
    'output_bound_coverage',
    'promoted_at_s',
    'wall_s',
  ]);
  assert.deepEqual(s, {
    jct_mean_s: 25,
    jct_p50_s: 30, // rank floor(0.5 * 4) of 10, 20, 30, 40
    jct_p95_s: 40,
    jct_p99_s: 40,
    ttft_p50_s: 0.3,
    ttft_p95_s: 0.4,
    output_tokens_per_s: 333.3,
    prefix_hit_rate: 0.667,
    preemptions: 5,
    gpu_seconds: 12.3,
    warm_requests: 7,
    warm_hits: 6,
    warm_outcomes: { sent: 7, cold: 2 },
    sessions_completed: 4,
    next_agent_accuracy: 0.877,
    output_bound_coverage: null, // NaN has no JSON form
    promoted_at_s: 61.3,
    wall_s: 4.6,
  });
  const baseline = summarize({ ...result, jctS: [], jctSessions: [] }, false, 1);
  assert.equal('next_agent_accuracy' in baseline, false, 'no learned scores without the profiler');
  assert.equal(baseline.jct_p95_s, null, 'no measured session: no p95');
  assert.equal(baseline.jct_mean_s, 0);
});

const base = summarize(result, false, 1);
const row = (label: string, figures: Partial<PolicySummary>) => ({
  spec: parsePolicySpec(label),
  summary: { ...base, ...figures },
});

test('pythia gets its ratios against every baseline, forecast scaling its reactive frontier', () => {
  const rows = withComparisons([
    row('least-request', { jct_mean_s: 120, jct_p95_s: 220, output_tokens_per_s: 40 }),
    row('pythia', { jct_mean_s: 100, jct_p95_s: 200, output_tokens_per_s: 50 }),
    row('pythia-no-warming', { jct_mean_s: 110 }),
    // Another routing's reactive run: cheaper and faster, but not in pythia's frontier.
    row('least-request+reactive-autoscaler', { gpu_seconds: 1000, jct_p95_s: 100, output_tokens_per_s: 40 }),
    row('pythia+reactive-autoscaler:15', { gpu_seconds: 4000, jct_p95_s: 300 }),
    row('pythia+reactive-autoscaler', { gpu_seconds: 8000, jct_p95_s: 200 }),
    row('pythia+reactive-autoscaler:60', { gpu_seconds: 6000, jct_p95_s: 260 }),
    row('pythia+reactive-autoscaler:120', { gpu_seconds: 7000, jct_p95_s: 280 }), // dominated
    row('pythia+autoscaler', { gpu_seconds: 5600, jct_p95_s: 230 }),
    row('prefix-aware+autoscaler', { gpu_seconds: 5000, jct_p95_s: 250, output_tokens_per_s: 0 }),
  ]);
  assert.deepEqual(Object.keys(rows), [
    'least-request',
    'pythia',
    'pythia-no-warming',
    'least-request+reactive-autoscaler',
    'pythia+reactive-autoscaler:15',
    'pythia+reactive-autoscaler',
    'pythia+reactive-autoscaler:60',
    'pythia+reactive-autoscaler:120',
    'pythia+autoscaler',
    'prefix-aware+autoscaler',
  ]);
  const pythia = rows['pythia']!;
  assert.equal(Object.keys(pythia).at(-1), 'ratios_vs');
  assert.deepEqual(pythia.ratios_vs, {
    'least-request': { jct_mean: 1.2, jct_p95: 1.1, output_throughput: 1.25 },
    'least-request+reactive-autoscaler': { jct_mean: 0.25, jct_p95: 0.5, output_throughput: 1.25 },
    // A throughput of 0 gives no finite ratio; JSON writes it as null.
    'prefix-aware+autoscaler': { jct_mean: 0.25, jct_p95: 1.25, output_throughput: Infinity },
  });
  assert.deepEqual(rows['pythia+autoscaler']!.vs_reactive_frontier, {
    gpu_saving_at_equal_p95: 0.2, // the frontier needs 7000 GPU-s at p95 230
    gpu_saving_lower_bound: null,
    p95_ratio_at_equal_gpu: 1.17, // and reaches p95 268 with 5600
    p95_ratio_lower_bound: null,
    frontier: [
      'pythia+reactive-autoscaler:15',
      'pythia+reactive-autoscaler:60',
      'pythia+reactive-autoscaler',
    ],
  });
  assert.equal(
    'vs_reactive_frontier' in rows['prefix-aware+autoscaler']!,
    false,
    'no reactive prefix-aware run',
  );
  assert.equal('ratios_vs' in rows['pythia-no-warming']!, false);
});

test('without a plain pythia run there are no ratios', () => {
  const rows = withComparisons([row('least-request', {}), row('pythia-no-priority', {})]);
  assert.equal('ratios_vs' in rows['pythia-no-priority']!, false);
  assert.equal('ratios_vs' in rows['least-request']!, false);
});

test("flow control's holds: count, shed, mean, p95 and longest wait, and how many the default TTL would shed", () => {
  assert.equal(DEFAULT_QUEUE_TTL_S, 60, "the service's default scheduler.flow_control.queue_ttl_s");
  // 21 held, one shed (not among the releases' waits).
  const waits = [...Array.from({ length: 18 }, (_, i) => i + 1), 59.9, 60.5, 75];
  const flow = summarizeFlow({ held: 22, heldWaitsS: waits, shed: 1 });
  assert.deepEqual(flow, {
    held: 22,
    shed: 1,
    hold_mean_s: 17.448,
    hold_p95_s: 60.5,
    hold_max_s: 75,
    held_past_default_ttl: 2,
  });
  assert.equal(flowLine(flow), 'held 22 (mean 17.448 s, p95 60.5 s, max 75 s, 2 past 60 s), shed 1');
  const none = summarizeFlow({ held: 0, heldWaitsS: [], shed: 0 });
  assert.deepEqual(none, {
    held: 0,
    shed: 0,
    hold_mean_s: null,
    hold_p95_s: null,
    hold_max_s: null,
    held_past_default_ttl: 0,
  });
  assert.equal(flowLine(none), 'held 0, shed 0');
});
