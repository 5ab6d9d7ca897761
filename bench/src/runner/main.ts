// npm run bench -- [--workload coding|research|coding-long|research-long|FILE.jsonl]
//   [--policies a,b,...] [--replicas N] [--sessions N] [--rate SESSIONS_PER_S] [--waves N]
//   [--wave-gap S] [--seed N] [--out DIR] [--large-roles a,b --large-replicas N]
//   [--host-kv-tokens N] [--session-kv-ttl-s S]
// Runs each workload under each routing policy on a simulated cluster in virtual time and
// writes DIR/report.json and DIR/report.md.
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../common/src/config/load.js';
import { autoscalerPoolDefaults } from '../../../common/src/config/schema.js';
import { coreConfigFrom } from '../../../profiler/src/adapters/core-config.js';
import { type RetentionQuery, runCluster } from '../sim/cluster.js';
import { A100_QWEN_14B, H100_LLAMA_8B } from '../sim/profiles.js';
import { type Row, bars, costScatter, jctCdf, sweep } from './charts.js';
import { compareToFrontier } from './frontier.js';
import { codingWorkload, researchWorkload } from '../../../test-support/src/workloads/agent-workloads.js';
import {
  codingLongWorkload,
  researchLongWorkload,
} from '../../../test-support/src/workloads/long-agent-workloads.js';
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { readReplayFile } from '../../../test-support/src/workloads/trace-replay.js';

const POLICIES = ['round-robin', 'least-request', 'prefix-aware', 'session-affinity', 'pythia'] as const;
/** A baseline profile, `pythia`, or `pythia-no-<lever>` (placement, priority, warming) for ablations. */
type Policy = string;

function arg(name: string, fallback: string): string {
  // The last occurrence wins, so flags after an npm script's own override them.
  const i = process.argv.lastIndexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const replicas = Number(arg('replicas', '8'));
const sessions = Number(arg('sessions', '600'));
const rate = Number(arg('rate', '20'));
const seed = Number(arg('seed', '1'));
const out = arg('out', 'bench/results/latest');
/** Sessions run first at a quarter of the rate (caches and the profiler warm up); not measured. */
const warmup = Number(arg('warmup', '40'));
const policies = arg('policies', POLICIES.join(',')).split(',') as Policy[];
/** The measured sessions arrive in this many waves, `waveGap` seconds of quiet between them. */
const waves = Math.max(1, Number(arg('waves', '1')));
const waveGap = Number(arg('wave-gap', '300'));
/** HPA's default scale-down stabilization window (KEDA scales through the HPA). */
const HPA_SCALE_DOWN_WINDOW_S = 300;
const workloads = arg('workload', 'coding,research').split(',');
/**
 * Roles served by a second pool of a larger model (14B on A100s) instead of the 8B pool: a
 * multi-model workflow, where a wave moves from one pool to the other.
 */
const largeRoles = new Set(arg('large-roles', '').split(',').filter(Boolean));
const largeReplicas = Number(arg('large-replicas', String(Math.max(1, Math.round(replicas / 2)))));
const simPools = [
  { name: 'llama', models: ['llama'], replicas, profile: H100_LLAMA_8B },
  ...(largeRoles.size > 0
    ? [{ name: 'large', models: ['large'], replicas: largeReplicas, profile: A100_QWEN_14B }]
    : []),
];

function withLargeRoles(plans: SessionPlan[]): SessionPlan[] {
  if (largeRoles.size === 0) return plans;
  return plans.map((p) => ({
    ...p,
    steps: p.steps.map((s) => (largeRoles.has(s.agent) ? { ...s, model: 'large' } : s)),
  }));
}

function generate(workload: string, count: number, ratePerS: number, s: number): SessionPlan[] {
  const options = { sessions: count, ratePerS, seed: s, model: 'llama', burst: 4 };
  if (workload === 'coding') return withLargeRoles(codingWorkload(options));
  if (workload === 'research') return withLargeRoles(researchWorkload(options));
  if (workload === 'coding-long') return withLargeRoles(codingLongWorkload(options));
  if (workload === 'research-long') return withLargeRoles(researchLongWorkload(options));
  throw new Error(`unknown workload ${workload}`);
}

/** Warm-up sessions (named warmup-*) then the measured ones, after a 60 s gap. */
function plansFor(workload: string): SessionPlan[] {
  if (workload.endsWith('.jsonl')) {
    const { sessions: replayed, errors } = readReplayFile(workload);
    for (const e of errors) process.stderr.write(`${workload}:${e.line}: skipped: ${e.message}\n`);
    return replayed;
  }
  const warm = generate(workload, warmup, rate / 4, seed + 1000).map((p) => ({
    ...p,
    session: `warmup-${p.session}`,
  }));
  const start = (warm.at(-1)?.arrivalS ?? -60) + 60;
  const plans = [...warm];
  let waveStart = start;
  for (let w = 0; w < waves; w++) {
    const count = Math.floor(sessions / waves) + (w < sessions % waves ? 1 : 0);
    const wave = generate(workload, count, rate, seed + w).map((p) => ({
      ...p,
      session: waves > 1 ? `wave${w}-${p.session}` : p.session,
      arrivalS: p.arrivalS + waveStart,
    }));
    plans.push(...wave);
    waveStart = (wave.at(-1)?.arrivalS ?? waveStart) + waveGap;
  }
  return plans;
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

const round = (v: number | null, d = 3) => (v === null || Number.isNaN(v) ? null : +v.toFixed(d));

const report: Record<string, Record<string, Record<string, unknown>>> = {};
const jctByWorkload: Record<string, Record<string, number[]>> = {};
const timelines: Record<string, Row[]> = {};
const doSweep = !process.argv.includes('--no-sweep');
/** Peak concurrency sweep: fewer sessions in the same arrival burst, then the main run's. */
const sweepSizes = [Math.round(sessions / 6), Math.round(sessions / 2)];
const sweepRows: Record<string, Row[]> = {};

interface PolicyRun {
  readonly summary: Record<string, unknown>;
  readonly measured: number[];
  readonly timeline: ReadonlyArray<{ t: number; pool: string; replicas: number }>;
}

let progress: ((policy: string, done: number, total: number) => void) | null = null;

// --- Engine extras, the same for every policy; off by default (the report is unchanged). ---
/** A host-memory KV tier of this many tokens per replica (e.g. 2000000). */
const hostKvTokens = Number(arg('host-kv-tokens', '0'));
/** Every request but a session's or thread's last asks its replica to keep its KV this long. */
const sessionKvTtlS = Number(arg('session-kv-ttl-s', '0'));
const engineExtras = {
  ...(hostKvTokens > 0 ? { engine: { hostKvCapacityTokens: hostKvTokens } } : {}),
  ...(sessionKvTtlS > 0
    ? {
        retention: (q: RetentionQuery) => ({
          key: q.thread === null ? q.session : `${q.session}/${q.thread}`,
          ttlMs: q.lastOfContext ? 0 : sessionKvTtlS * 1000,
        }),
      }
    : {}),
};
/** Per-run figures printed beside the summary line (not in the report). */
let extraLine = '';

function runPolicy(fullPolicy: Policy, plans: SessionPlan[]): PolicyRun {
  // `<policy>+autoscaler` (forecast) or `<policy>+reactive-autoscaler[:S]` (queue length,
  // scale-down window S seconds, the HPA default when left out) run with replicas started and
  // stopped by the autoscaler core.
  const [policy = fullPolicy, scalingSpec] = fullPolicy.split('+');
  const [scaling, windowSpec] = scalingSpec?.split(':') ?? [];
  const scaleDownDelayS =
    scaling === 'autoscaler'
      ? autoscalerPoolDefaults.scale_down_delay_s
      : windowSpec === undefined
        ? HPA_SCALE_DOWN_WINDOW_S
        : Number(windowSpec);
  const pythia = policy.startsWith('pythia');
  const off = pythia && policy.startsWith('pythia-no-') ? policy.slice('pythia-no-'.length) : '';
  const config = parseConfig({
    pools: simPools.map((p) => ({ name: p.name, models: p.models })),
    scheduler: {
      profile: pythia ? 'pythia' : policy,
      reactive_profile: pythia ? 'least-request' : policy,
      levers: {
        placement: pythia && off !== 'placement',
        priority: pythia && off !== 'priority',
        warming: pythia && off !== 'warming',
      },
      scrape_interval_ms: 1000,
    },
  });
  const started = performance.now();
  const r = runCluster({
    config,
    pools: simPools,
    priorityScheduling: pythia && off !== 'priority',
    learn: pythia,
    profiler: { ...coreConfigFrom(config.profiler, 128), sessionIdleMs: 60_000, endGraceMs: 0 },
    plans,
    seed,
    scrapeIntervalMs: 1000,
    rebuildIntervalMs: 5000,
    ...engineExtras,
    onProgress: (done: number, total: number) => progress?.(fullPolicy, done, total),
    ...(scaling
      ? {
          autoscale: {
            mode: scaling === 'autoscaler' ? ('forecast' as const) : ('reactive' as const),
            initialReplicas: Math.max(1, Math.round(replicas / 4)),
            intervalMs: 5000,
            requestsPerReplica: 48,
            capacity: {
              prefillTokensPerS: 30_000,
              decodeTokensPerS: 4_000,
              minReplicas: 1,
              maxReplicas: replicas,
              modelLoadS: H100_LLAMA_8B.modelLoadS,
              scaleDownDelayS,
              forecastScaleDownDelayS: autoscalerPoolDefaults.forecast_scale_down_delay_s,
              targetUtilisation: 0.8,
            },
          },
        }
      : {}),
  });
  extraLine = `, prompt ${Math.round(r.requestPromptTokens / Math.max(1, r.requests))} tok/request, prefill ${((100 * r.prefillGpuSeconds) / Math.max(1e-9, r.busyGpuSeconds)).toFixed(1)}% of busy GPU time, host-tier tokens ${r.hostTokens}`;
  const measured = r.jctS.filter((_, i) => !r.jctSessions[i]?.startsWith('warmup-'));
  const mean = measured.reduce((a, b) => a + b, 0) / Math.max(1, measured.length);
  return {
    measured,
    summary: {
      jct_mean_s: round(mean),
      jct_p50_s: round(quantile(measured, 0.5)),
      jct_p95_s: round(quantile(measured, 0.95)),
      jct_p99_s: round(quantile(measured, 0.99)),
      ttft_p50_s: round(quantile(r.ttftS, 0.5)),
      ttft_p95_s: round(quantile(r.ttftS, 0.95)),
      output_tokens_per_s: round(r.outputTokens / r.makespanS, 1),
      prefix_hit_rate: round(r.cachedTokens / Math.max(1, r.promptTokens)),
      preemptions: r.preemptions,
      gpu_seconds: round(r.gpuSeconds, 1),
      warm_requests: r.warmRequests,
      warm_hits: r.warmHits,
      warm_outcomes: r.warmOutcomes,
      sessions_completed: measured.length,
      ...(pythia
        ? {
            next_agent_accuracy: round(r.nextAgentAccuracy),
            output_bound_coverage: round(r.outputBoundCoverage),
            promoted_at_s: round(r.promotedAtS, 1),
          }
        : {}),
      wall_s: round((performance.now() - started) / 1000, 1),
    },
    timeline: r.replicaTimeline,
  };
}

const tty = process.stderr.isTTY;
let label = '';
if (tty) {
  // A progress bar per run, redrawn in place (at most every 2% of the sessions).
  let drawn = -1;
  progress = (policy, done, total) => {
    const pct = Math.floor((done / total) * 50);
    if (pct === drawn && done < total) return;
    drawn = done === total ? -1 : pct;
    process.stderr.write(
      `\r${`${label} ${policy}`.padEnd(34)} [${'#'.repeat(pct)}${'.'.repeat(50 - pct)}] ${done}/${total}`,
    );
  };
}
/**
 * Each forecast-autoscaled policy against the reactive scaler with the same routing at the
 * scale-down windows measured in this run (`<routing>+reactive-autoscaler[:S]`): GPU-seconds
 * saved at equal p95 and p95 gained at equal GPU-seconds, on the reactive frontier.
 */
function compareScalers(rows: Record<string, Record<string, unknown>>): void {
  for (const [policy, summary] of Object.entries(rows)) {
    const [routing, scaler] = policy.split('+');
    if (scaler !== 'autoscaler') continue;
    const family = Object.entries(rows)
      .filter(([p]) => p.startsWith(`${routing}+reactive-autoscaler`))
      .map(([label, s]) => ({
        label,
        gpuSeconds: s['gpu_seconds'] as number,
        p95S: s['jct_p95_s'] as number,
      }));
    if (family.length === 0) continue;
    const c = compareToFrontier(
      { label: policy, gpuSeconds: summary['gpu_seconds'] as number, p95S: summary['jct_p95_s'] as number },
      family,
    );
    summary['vs_reactive_frontier'] = {
      gpu_saving_at_equal_p95: round(c.gpuSavingAtEqualP95),
      gpu_saving_lower_bound: round(c.gpuSavingLowerBound),
      p95_ratio_at_equal_gpu: round(c.p95RatioAtEqualGpu, 2),
      p95_ratio_lower_bound: round(c.p95RatioLowerBound, 2),
      frontier: c.frontier.map((p) => p.label),
    };
  }
}

for (const workload of workloads) {
  const plans = plansFor(workload);
  report[workload] = {};
  jctByWorkload[workload] = {};
  for (const policy of policies) {
    label = workload;
    const { summary, measured, timeline } = runPolicy(policy, plans);
    report[workload][policy] = summary;
    jctByWorkload[workload][policy] = measured;
    // One line per policy: replicas on, summed over the pools at each decision.
    const total = new Map<number, number>();
    for (const p of timeline) total.set(p.t, (total.get(p.t) ?? 0) + p.replicas);
    for (const [t, on] of total) (timelines[workload] ??= []).push({ policy, t, replicas: on });
    if (!tty)
      process.stderr.write(
        `${workload} ${policy}: mean JCT ${summary['jct_mean_s']} s, prefix hit ${summary['prefix_hit_rate']}${extraLine} (${summary['wall_s']} s wall)\n`,
      );
  }
  if (doSweep && !workload.endsWith('.jsonl')) {
    const rows: Row[] = [];
    const point = (n: number, policy: string, summary: Record<string, unknown>) =>
      rows.push({
        sessions: n,
        policy,
        output_tokens_per_s: summary['output_tokens_per_s'] as number,
        jct_p95_s: summary['jct_p95_s'] as number,
      });
    for (const n of sweepSizes) {
      const sweepPlans = generate(workload, n, rate, seed);
      for (const policy of policies) {
        label = `${workload} sweep ${n}`;
        point(n, policy, runPolicy(policy, sweepPlans).summary);
      }
    }
    for (const policy of policies)
      point(sessions, policy, report[workload][policy] as Record<string, unknown>);
    sweepRows[workload] = rows;
  }
  const base = report[workload];
  compareScalers(base);
  const py = base['pythia'];
  if (py) {
    const ratios: Record<string, unknown> = {};
    for (const policy of policies.filter((p) => !p.startsWith('pythia'))) {
      const b = base[policy] as Record<string, number>;
      const p = py as Record<string, number>;
      ratios[policy] = {
        jct_mean: round((b['jct_mean_s'] ?? 0) / (p['jct_mean_s'] ?? 1), 2),
        jct_p95: round((b['jct_p95_s'] ?? 0) / (p['jct_p95_s'] ?? 1), 2),
        output_throughput: round((p['output_tokens_per_s'] ?? 0) / (b['output_tokens_per_s'] ?? 1), 2),
      };
    }
    (py as Record<string, unknown>)['ratios_vs'] = ratios;
  }
}
if (tty) process.stderr.write(`\r${' '.repeat(100)}\r`);

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {
  // not a checkout
}
const full = {
  seed,
  commit,
  configuration: {
    replicas,
    sessions,
    rate,
    warmup,
    profile: H100_LLAMA_8B.name,
    workloads,
    policies,
    sweep: doSweep,
    waves,
    wave_gap_s: waveGap,
    large_roles: [...largeRoles],
    pools: simPools.map((p) => ({ name: p.name, replicas: p.replicas, profile: p.profile.name })),
  },
  results: report,
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'report.json'), `${JSON.stringify(full, null, 2)}\n`);
const md: string[] = [
  `# Benchmark report`,
  '',
  `${simPools.map((p) => `${p.replicas} x ${p.profile.name}`).join(' + ')}${largeRoles.size > 0 ? ` (${[...largeRoles].join(', ')} on ${A100_QWEN_14B.name})` : ''}, ${sessions} sessions per workload at ${rate}/s (bursts of 4)${waves > 1 ? ` in ${waves} waves ${waveGap} s apart` : ''}, seed ${seed}, commit ${commit}.`,
  '',
];
for (const [workload, rows] of Object.entries(report)) {
  md.push(
    `## ${workload}`,
    '',
    '| policy | JCT mean s | JCT p95 s | TTFT p50 s | output tok/s | prefix hit | preemptions | warms | warm hits |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const [policy, r] of Object.entries(rows)) {
    const v = r as Record<string, unknown>;
    md.push(
      `| ${policy} | ${v['jct_mean_s']} | ${v['jct_p95_s']} | ${v['ttft_p50_s']} | ${v['output_tokens_per_s']} | ${v['prefix_hit_rate']} | ${v['preemptions']} | ${v['warm_requests']} | ${v['warm_hits']} |`,
    );
  }
  const ratios = (rows['pythia'] as Record<string, unknown> | undefined)?.['ratios_vs'];
  if (ratios)
    md.push('', `pythia vs each baseline (mean JCT, p95 JCT, throughput): \`${JSON.stringify(ratios)}\``);
  for (const [policy, r] of Object.entries(rows)) {
    const f = (r as Record<string, unknown>)['vs_reactive_frontier'] as Record<string, unknown> | undefined;
    if (!f) continue;
    const saving =
      typeof f['gpu_saving_at_equal_p95'] === 'number'
        ? `${(f['gpu_saving_at_equal_p95'] * 100).toFixed(1)}%`
        : typeof f['gpu_saving_lower_bound'] === 'number'
          ? `at least ${(f['gpu_saving_lower_bound'] * 100).toFixed(1)}% (lower p95 than every setting)`
          : 'outside the measured range';
    const ratio =
      typeof f['p95_ratio_at_equal_gpu'] === 'number'
        ? `${f['p95_ratio_at_equal_gpu']}x`
        : typeof f['p95_ratio_lower_bound'] === 'number'
          ? `at least ${f['p95_ratio_lower_bound']}x (fewer GPU-seconds than every setting)`
          : 'outside the measured range';
    md.push(
      '',
      `${policy} vs the reactive frontier (${(f['frontier'] as string[]).join(', ')}): GPU-seconds saved at equal p95: ${saving}; p95 better at equal GPU-seconds by ${ratio}.`,
    );
  }
  md.push('');
}
const charts: string[] = [];
for (const [workload, rows] of Object.entries(report)) {
  const name = workload.replace(/[^A-Za-z0-9_-]/g, '_');
  const write = async (file: string, svg: Promise<string>) => {
    writeFileSync(join(out, file), await svg);
    charts.push(file);
  };
  await write(`jct-cdf-${name}.svg`, jctCdf(`JCT CDF, ${workload}`, jctByWorkload[workload] ?? {}));
  const perPolicy = Object.entries(rows).map(([policy, v]) => ({
    policy,
    ...(v as Record<string, number>),
  })) as Row[];
  await write(
    `prefix-hit-${name}.svg`,
    bars(`Prefix-cache hit rate, ${workload}`, perPolicy, 'prefix_hit_rate', 'cached / prompt tokens'),
  );
  await write(
    `preemptions-${name}.svg`,
    bars(`Preemptions, ${workload}`, perPolicy, 'preemptions', 'preemptions'),
  );
  const scaled = perPolicy.filter((r) => String(r['policy']).includes('+'));
  if (scaled.length > 1)
    await write(`gpu-vs-p95-${name}.svg`, costScatter(`GPU-seconds and p95 JCT, ${workload}`, scaled));
  const tl = timelines[workload];
  if (tl)
    await write(
      `replicas-${name}.svg`,
      sweep(
        `Replicas over time, all pools (autoscaling), ${workload}`,
        tl,
        'replicas',
        'replicas on',
        't',
        'simulated time (s)',
      ),
    );
  const sw = sweepRows[workload];
  if (sw) {
    await write(
      `throughput-sweep-${name}.svg`,
      sweep(`Output throughput vs load, ${workload}`, sw, 'output_tokens_per_s', 'output tokens/s'),
    );
    await write(
      `p95-sweep-${name}.svg`,
      sweep(`p95 JCT vs load, ${workload}`, sw, 'jct_p95_s', 'p95 JCT (s)'),
    );
  }
}
md.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
writeFileSync(join(out, 'report.md'), `${md.join('\n')}\n`);
console.log(md.join('\n'));
