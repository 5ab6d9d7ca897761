// The README's chart of the committed load sweep: per workload (columns) and for mean and p95
// JCT (rows), the best peer's, pythia's and the oracle's JCT over round-robin's against load,
// averaged over the committed seeds. A ratio to round-robin puts four workloads whose JCTs
// differ tenfold on one scale, and the best peer is taken per load and seed, as in the tables.
import { type Row, grid } from './charts.js';
import { type LoadSweepReport, isPeer } from './load-report.js';
import type { PolicySummary } from './summary.js';

export const README_CHART = 'bench/results/load/readme-chart.svg';

const METRICS = [
  ['jct_mean_s', 'mean JCT'],
  ['jct_p95_s', 'p95 JCT'],
] as const;

/** Round-robin as a grey reference; pythia and the best peer in colours far apart. */
const SERIES_COLORS = {
  'round-robin': '#9e9e9e',
  'best peer': '#1f77b4',
  pythia: '#d62728',
  oracle: '#2ca02c',
};

type Metric = (typeof METRICS)[number][0];

const value = (s: PolicySummary | undefined, m: Metric): number | null => {
  const v = s?.[m];
  return typeof v === 'number' && v > 0 ? v : null;
};

/** The lowest figure among the peers (round-robin included), or null when none ran. */
function bestPeer(rows: Readonly<Record<string, PolicySummary>>, m: Metric): number | null {
  const v = Object.entries(rows)
    .filter(([p]) => isPeer(p))
    .map(([, s]) => value(s, m))
    .filter((x): x is number => x !== null);
  return v.length > 0 ? Math.min(...v) : null;
}

/**
 * The chart's points: `{ workload, load, metric, series, ratio }`, the series' JCT over
 * round-robin's in the same run, averaged over the reports (seeds) that have the point.
 */
export function readmeChartRows(reports: readonly LoadSweepReport[]): Row[] {
  const sums = new Map<string, { row: Omit<Row, 'ratio'>; total: number; n: number }>();
  for (const r of reports)
    for (const [workload, loads] of Object.entries(r.results))
      for (const [load, rows] of Object.entries(loads))
        for (const [metric, label] of METRICS) {
          const rr = value(rows['round-robin'], metric);
          if (rr === null) continue;
          const series: Array<[string, number | null]> = [
            ['round-robin', rr],
            ['best peer', bestPeer(rows, metric)],
            ['pythia', value(rows['pythia'], metric)],
            ['oracle', value(r.oracle[workload]?.[load], metric)],
          ];
          for (const [name, v] of series) {
            if (v === null) continue;
            const key = `${workload}|${load}|${metric}|${name}`;
            const entry = sums.get(key) ?? {
              row: { workload, load: Number(load), metric: label, series: name },
              total: 0,
              n: 0,
            };
            entry.total += v / rr;
            entry.n += 1;
            sums.set(key, entry);
          }
        }
  return [...sums.values()].map(({ row, total, n }) => ({
    ...row,
    ratio: Math.round((1000 * total) / n) / 1000,
  }));
}

/** The README chart as SVG. */
export function readmeChart(reports: readonly LoadSweepReport[]): Promise<string> {
  const seeds = [...new Set(reports.map((r) => r.seed))];
  return grid(
    `JCT over round-robin's vs load (lower is better; mean of seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')})`,
    readmeChartRows(reports),
    { x: 'load', y: 'ratio', series: 'series', column: 'workload', row: 'metric' },
    { x: 'load (fraction of capacity)', y: "JCT / round-robin's" },
    SERIES_COLORS,
  );
}
