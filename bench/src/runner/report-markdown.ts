// The report as markdown: report.md, and the README's results section, which renders its
// tables and ratios with the same functions so that the two never format a figure differently.
import { BURST } from './plans.js';
import type { GainShare } from './oracle-share.js';
import type { BenchReport } from './report.js';
import type { BaselineRatios, FrontierSummary, PolicySummary } from './summary.js';

type Column = readonly [header: string, field: keyof PolicySummary];

/** report.md's table columns after `policy`. */
export const REPORT_COLUMNS: readonly Column[] = [
  ['JCT mean s', 'jct_mean_s'],
  ['JCT p95 s', 'jct_p95_s'],
  ['TTFT p50 s', 'ttft_p50_s'],
  ['output tok/s', 'output_tokens_per_s'],
  ['prefix hit', 'prefix_hit_rate'],
  ['preemptions', 'preemptions'],
  ['warms', 'warm_requests'],
  ['warm hits', 'warm_hits'],
];

/** The README's: the same without warm hits. */
export const README_COLUMNS: readonly Column[] = REPORT_COLUMNS.filter(([, field]) => field !== 'warm_hits');

/** A row per policy, figures as the report has them. */
export function resultsTable(
  rows: Readonly<Record<string, PolicySummary>>,
  columns: readonly Column[],
): string[] {
  return [
    `| policy | ${columns.map(([header]) => header).join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    ...Object.entries(rows).map(
      ([policy, summary]) => `| ${policy} | ${columns.map(([, field]) => `${summary[field]}`).join(' | ')} |`,
    ),
  ];
}

const ratiosOf = (rows: Readonly<Record<string, PolicySummary>>) => rows['pythia']?.ratios_vs;

/** report.md: pythia's ratios against each baseline, as in report.json. */
export function ratiosJsonLine(rows: Readonly<Record<string, PolicySummary>>): string | null {
  const ratios = ratiosOf(rows);
  return ratios
    ? `pythia vs each baseline (mean JCT, p95 JCT, throughput): \`${JSON.stringify(ratios)}\``
    : null;
}

/** The README: pythia's ratios against each baseline, as a sentence. */
export function ratiosSentence(rows: Readonly<Record<string, PolicySummary>>): string | null {
  const ratios = ratiosOf(rows);
  if (!ratios) return null;
  const each = ([baseline, v]: [string, BaselineRatios]) =>
    `${baseline} ${v.jct_mean}x mean JCT, ${v.jct_p95}x p95, ${v.output_throughput}x throughput`;
  return `pythia vs: ${Object.entries(ratios).map(each).join('; ')}.`;
}

const percent = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${Math.round(100 * v)}%`;

/** report.md: pythia's share of the oracle's gain over round-robin, then every policy's. */
export function gainShareLine(shares: Readonly<Record<string, GainShare>>): string {
  const pythia = shares['pythia'];
  const lead = pythia
    ? `pythia's share of the oracle's gain over round-robin: ${percent(pythia.jct_mean)} mean JCT, ${percent(pythia.jct_p95)} p95. `
    : '';
  return `${lead}Each policy's, (round-robin - policy) / (round-robin - oracle): \`${JSON.stringify(shares)}\``;
}

function frontierLine(policy: string, f: FrontierSummary): string {
  const saving =
    typeof f.gpu_saving_at_equal_p95 === 'number'
      ? `${(f.gpu_saving_at_equal_p95 * 100).toFixed(1)}%`
      : typeof f.gpu_saving_lower_bound === 'number'
        ? `at least ${(f.gpu_saving_lower_bound * 100).toFixed(1)}% (lower p95 than every setting)`
        : 'outside the measured range';
  const ratio =
    typeof f.p95_ratio_at_equal_gpu === 'number'
      ? `${f.p95_ratio_at_equal_gpu}x`
      : typeof f.p95_ratio_lower_bound === 'number'
        ? `at least ${f.p95_ratio_lower_bound}x (fewer GPU-seconds than every setting)`
        : 'outside the measured range';
  return `${policy} vs the reactive frontier (${f.frontier.join(', ')}): GPU-seconds saved at equal p95: ${saving}; p95 better at equal GPU-seconds by ${ratio}.`;
}

/** The cluster and load in a sentence. */
function runLine(report: BenchReport): string {
  const c = report.configuration;
  const pools = c.pools.map((p) => `${p.replicas} x ${p.profile}`).join(' + ');
  const large = c.pools.find((p) => p.name === 'large');
  const roles = c.large_roles.length > 0 && large ? ` (${c.large_roles.join(', ')} on ${large.profile})` : '';
  const waves = c.waves > 1 ? ` in ${c.waves} waves ${c.wave_gap_s} s apart` : '';
  return `${pools}${roles}, ${c.sessions} sessions per workload at ${c.rate}/s (bursts of ${BURST})${waves}, seed ${report.seed}, commit ${report.commit}.`;
}

/** report.md: per workload its table, pythia's ratios and the frontier comparisons; then the charts. */
export function reportMarkdown(report: BenchReport, charts: readonly string[]): string {
  const md = ['# Benchmark report', '', runLine(report), ''];
  for (const [workload, rows] of Object.entries(report.results)) {
    md.push(`## ${workload}`, '', ...resultsTable(rows, REPORT_COLUMNS));
    const ratios = ratiosJsonLine(rows);
    if (ratios) md.push('', ratios);
    const share = report.oracle_gain_share?.[workload];
    if (share) md.push('', gainShareLine(share));
    for (const [policy, summary] of Object.entries(rows))
      if (summary.vs_reactive_frontier) md.push('', frontierLine(policy, summary.vs_reactive_frontier));
    md.push('');
  }
  md.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  return `${md.join('\n')}\n`;
}
