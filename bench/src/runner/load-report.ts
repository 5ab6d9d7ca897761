// The load sweep's report: results[workload][load][policy] (the main bench's per-policy
// fields), the oracle bound and unloaded JCT per load, how capacity was found, and the
// ratios the issue asks for (pythia against the best peer, each policy's share of the gain the
// oracle shows over round-robin); its markdown tables and its charts (mean and p95 JCT vs load).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Row, sweep } from './charts.js';
import { type GainShare, oracleGainShares } from './oracle-share.js';
import type { PolicySummary } from './summary.js';

export interface CapacityProbe {
  readonly rate: number;
  readonly offered_tokens_per_s: number;
  readonly delivered_tokens_per_s: number;
}

export interface WorkloadCapacity {
  readonly sessions_per_s: number;
  readonly output_tokens_per_session: number;
  readonly method: string;
  readonly probes: readonly CapacityProbe[];
}

export interface LoadPoint {
  readonly rate_per_s: number;
  readonly policies: Readonly<Record<string, PolicySummary>>;
  readonly oracle: PolicySummary;
}

export interface LoadSweepReport {
  readonly kind: 'load-sweep';
  readonly seed: number;
  readonly commit: string;
  readonly configuration: {
    readonly replicas: number;
    readonly profile: string;
    /** Arrival window per workload (s). */
    readonly duration_s: Readonly<Record<string, number>>;
    readonly loads: readonly string[];
    readonly policies: readonly string[];
    /** ext-proc replicas of the policy runs and their events' delay (ms); absent: one replica. */
    readonly ext_proc_replicas?: number;
    readonly replica_delay_ms?: number;
  };
  readonly capacity: Readonly<Record<string, WorkloadCapacity>>;
  /** Mean JCT of sessions run one at a time on the idle cluster (round-robin). */
  readonly unloaded_jct_s: Readonly<Record<string, number>>;
  /** Sessions arriving in [0, warm-up) are not measured, nor those after the window. */
  readonly warmup_s: Readonly<Record<string, number>>;
  readonly tail_s: Readonly<Record<string, number>>;
  readonly results: Readonly<
    Record<string, Readonly<Record<string, Readonly<Record<string, PolicySummary>>>>>
  >;
  readonly oracle: Readonly<Record<string, Readonly<Record<string, PolicySummary>>>>;
  readonly rates: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Runs taken from an earlier report (`--reuse`): per workload and load, which and its commit. */
  readonly reused?: Readonly<
    Record<
      string,
      Readonly<Record<string, { readonly commit: string; readonly policies: readonly string[] }>>
    >
  >;
  /** (round-robin - policy) / (round-robin - oracle), per JCT mean and p95. */
  readonly oracle_gain_share: Readonly<
    Record<string, Readonly<Record<string, Readonly<Record<string, GainShare>>>>>
  >;
  /** Pythia against the best peer (every policy but pythia*): best / pythia (> 1: pythia faster). */
  readonly pythia_vs_best_peer: Readonly<
    Record<
      string,
      Readonly<Record<string, { best_peer: string; jct_mean: number | null; jct_p95: number | null }>>
    >
  >;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export const isPeer = (policy: string): boolean => !policy.startsWith('pythia');

/** The best peer by mean JCT and pythia's ratios against it (null without both). */
export function versusBestPeer(
  rows: Readonly<Record<string, PolicySummary>>,
): { best_peer: string; jct_mean: number | null; jct_p95: number | null } | null {
  const pythia = rows['pythia'];
  const peers = Object.entries(rows).filter(
    ([p, s]) => isPeer(p) && s.jct_mean_s !== null && s.sessions_completed > 0,
  );
  if (!pythia || !pythia.jct_mean_s || !pythia.sessions_completed || peers.length === 0) return null;
  const [name, best] = peers.reduce((a, b) => ((b[1].jct_mean_s ?? 0) < (a[1].jct_mean_s ?? 0) ? b : a));
  // p95 against the best peer's p95 among all peers (no regret on either figure).
  const bestP95 = Math.min(...peers.map(([, s]) => s.jct_p95_s ?? Number.POSITIVE_INFINITY));
  return {
    best_peer: name,
    jct_mean: r3((best.jct_mean_s as number) / pythia.jct_mean_s),
    jct_p95: pythia.jct_p95_s ? r3(bestP95 / pythia.jct_p95_s) : null,
  };
}

export function derivedFigures(
  results: LoadSweepReport['results'],
  oracle: LoadSweepReport['oracle'],
): Pick<LoadSweepReport, 'oracle_gain_share' | 'pythia_vs_best_peer'> {
  const share: Record<string, Record<string, Record<string, GainShare>>> = {};
  const versus: Record<
    string,
    Record<string, { best_peer: string; jct_mean: number | null; jct_p95: number | null }>
  > = {};
  for (const [workload, loads] of Object.entries(results)) {
    share[workload] = {};
    versus[workload] = {};
    for (const [load, rows] of Object.entries(loads)) {
      share[workload][load] = oracleGainShares(rows, oracle[workload]?.[load]);
      const v = versusBestPeer(rows);
      if (v) versus[workload][load] = v;
    }
  }
  return { oracle_gain_share: share, pythia_vs_best_peer: versus };
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${Math.round(100 * v)}%`;

/** Per workload: a row per load, mean / p95 JCT per policy and the oracle. */
export function loadTables(report: LoadSweepReport): string[] {
  const lines: string[] = [];
  for (const [workload, loads] of Object.entries(report.results)) {
    const cap = report.capacity[workload];
    lines.push(
      `**${workload}**` +
        (cap
          ? ` (capacity ${cap.sessions_per_s.toFixed(3)} sessions/s, unloaded JCT ${fmt(report.unloaded_jct_s[workload])} s, arrivals for ${fmt(report.configuration.duration_s[workload], 0)} s, the first ${fmt(report.warmup_s[workload], 0)} s not measured)`
          : ''),
      '',
    );
    const policies = Object.keys(Object.values(loads)[0] ?? {});
    lines.push(
      `| load | sessions/s | ${policies.join(' | ')} | oracle | pythia vs best peer | pythia's share of oracle gain |`,
      `|---|---|${policies.map(() => '---|').join('')}---|---|---|`,
    );
    for (const [load, rows] of Object.entries(loads)) {
      const o = report.oracle[workload]?.[load];
      const v = report.pythia_vs_best_peer[workload]?.[load];
      const share = report.oracle_gain_share[workload]?.[load]?.['pythia'];
      lines.push(
        `| ${load} | ${fmt(report.rates[workload]?.[load], 3)} | ${policies
          .map((p) => `${fmt(rows[p]?.jct_mean_s)} / ${fmt(rows[p]?.jct_p95_s)}`)
          .join(' | ')} | ${fmt(o?.jct_mean_s)} / ${fmt(o?.jct_p95_s)} | ${
          v ? `${fmt(v.jct_mean, 2)}x / ${fmt(v.jct_p95, 2)}x (${v.best_peer})` : '-'
        } | ${pct(share?.jct_mean)} / ${pct(share?.jct_p95)} |`,
      );
    }
    lines.push('');
  }
  return lines;
}

/** Each policy's share of the oracle's gain over round-robin (mean JCT), per workload and load. */
export function shareTables(report: LoadSweepReport): string[] {
  const lines: string[] = [];
  for (const [workload, loads] of Object.entries(report.oracle_gain_share)) {
    const policies = Object.keys(Object.values(loads)[0] ?? {}).filter((p) => p !== 'round-robin');
    lines.push(`**${workload}**: share of the oracle's mean-JCT gain over round-robin`, '');
    lines.push(`| load | ${policies.join(' | ')} |`, `|---|${policies.map(() => '---|').join('')}`);
    for (const [load, rows] of Object.entries(loads))
      lines.push(`| ${load} | ${policies.map((p) => pct(rows[p]?.jct_mean)).join(' | ')} |`);
    lines.push('');
  }
  return lines;
}

/** How the sessions arrived: Poisson at fractions of capacity for these windows, or a trace's own. */
function arrivals(durations: Readonly<Record<string, number>>): string {
  const windows = Object.entries(durations).map(([w, d]) => `${d} s (${w})`);
  return windows.length === 0
    ? 'arrivals as in the trace file'
    : `Poisson session arrivals at each fraction of capacity for ${windows.join(', ')}`;
}

/** The runs taken from an earlier report, grouped by commit and policies. */
function reusedLines(report: LoadSweepReport): string[] {
  const groups = new Map<string, string[]>();
  for (const [workload, loads] of Object.entries(report.reused ?? {}))
    for (const [load, { commit, policies }] of Object.entries(loads)) {
      const key = `commit ${commit}: ${policies.join(', ')}`;
      groups.set(key, [...(groups.get(key) ?? []), `${workload} ${load}`]);
    }
  if (groups.size === 0) return [];
  return [
    'Runs reused from an earlier report (`--reuse`; the same seed, cluster, window and rate):',
    '',
    ...[...groups].map(([key, where]) => `- ${key} (${where.join(', ')})`),
    '',
  ];
}

export function loadReportMarkdown(report: LoadSweepReport, charts: readonly string[]): string {
  const c = report.configuration;
  const lines = [
    '# Load sweep',
    '',
    `${c.replicas} x ${c.profile}, ${arrivals(c.duration_s)}, seed ${report.seed}, commit ${report.commit}` +
      `${(c.ext_proc_replicas ?? 1) > 1 ? `, ${c.ext_proc_replicas} ext-proc replicas (events ${c.replica_delay_ms} ms late)` : ''}. ` +
      'Cells: mean / p95 JCT in seconds of the sessions arriving after the warm-up and before the end of the window. ' +
      'Ratios: best peer / pythia (> 1: pythia faster), mean / p95. Share: (round-robin - pythia) / (round-robin - oracle), mean / p95.',
    '',
    ...reusedLines(report),
    '## How capacity was found',
    '',
  ];
  for (const [workload, cap] of Object.entries(report.capacity)) {
    lines.push(`- ${workload}: ${cap.method}`);
    for (const p of cap.probes)
      lines.push(
        `  - ${p.rate.toFixed(3)} sessions/s: offered ${p.offered_tokens_per_s.toFixed(0)} output tok/s, delivered ${p.delivered_tokens_per_s.toFixed(0)}`,
      );
  }
  lines.push(
    '',
    '## Mean / p95 JCT per load',
    '',
    ...loadTables(report),
    '## Share of the oracle gain',
    '',
    ...shareTables(report),
  );
  for (const chart of charts) lines.push(`![${chart}](${chart})`);
  lines.push('');
  return lines.join('\n');
}

/** Mean and p95 JCT vs load per policy (and the oracle), per workload. */
export async function writeLoadReport(out: string, report: LoadSweepReport): Promise<string> {
  mkdirSync(out, { recursive: true });
  const charts: string[] = [];
  for (const [workload, loads] of Object.entries(report.results)) {
    const name = workload.replace(/[^A-Za-z0-9_-]/g, '_');
    const rows: Row[] = [];
    for (const [load, policies] of Object.entries(loads)) {
      const x = Number(load);
      if (!Number.isFinite(x)) continue;
      const all = { ...policies, oracle: report.oracle[workload]?.[load] };
      for (const [policy, s] of Object.entries(all))
        if (s && s.jct_mean_s !== null && s.jct_p95_s !== null)
          rows.push({ load: x, policy, jct_mean_s: s.jct_mean_s, jct_p95_s: s.jct_p95_s });
    }
    if (rows.length === 0) continue;
    for (const [metric, label] of [
      ['jct_mean_s', 'mean JCT (s)'],
      ['jct_p95_s', 'p95 JCT (s)'],
    ] as const) {
      const file = `${metric === 'jct_mean_s' ? 'mean' : 'p95'}-jct-vs-load-${name}.svg`;
      writeFileSync(
        join(out, file),
        await sweep(
          `${label} vs load, ${workload}`,
          rows,
          metric,
          label,
          'load',
          'offered load (fraction of capacity)',
        ),
      );
      charts.push(file);
    }
  }
  writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = loadReportMarkdown(report, charts);
  writeFileSync(join(out, 'report.md'), md);
  return md;
}
