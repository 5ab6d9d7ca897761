// Writes a bench report to its directory: report.json, the SVG charts, and report.md (which
// lists the charts). The one writer of the report's files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChartSeries } from './chart-series.js';
import { type Row, bars, costScatter, jctCdf, sweep } from './charts.js';
import type { BenchReport } from './report.js';
import { reportMarkdown } from './report-markdown.js';

/** Renders each workload's charts into `out`; returns the files written, in order. */
async function writeCharts(out: string, report: BenchReport, series: ChartSeries): Promise<string[]> {
  const charts: string[] = [];
  const write = async (file: string, svg: Promise<string>) => {
    writeFileSync(join(out, file), await svg);
    charts.push(file);
  };
  for (const [workload, rows] of Object.entries(report.results)) {
    const name = workload.replace(/[^A-Za-z0-9_-]/g, '_');
    await write(`jct-cdf-${name}.svg`, jctCdf(`JCT CDF, ${workload}`, series.jct[workload] ?? {}));
    const perPolicy = Object.entries(rows).map(([policy, summary]) => ({
      policy,
      ...summary,
    })) as unknown as Row[];
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
    const replicas = series.replicas[workload];
    if (replicas)
      await write(
        `replicas-${name}.svg`,
        sweep(
          `Replicas over time, all pools (autoscaling), ${workload}`,
          replicas,
          'replicas',
          'replicas on',
          't',
          'simulated time (s)',
        ),
      );
    const points = series.sweep[workload];
    if (points) {
      await write(
        `throughput-sweep-${name}.svg`,
        sweep(`Output throughput vs load, ${workload}`, points, 'output_tokens_per_s', 'output tokens/s'),
      );
      await write(
        `p95-sweep-${name}.svg`,
        sweep(`p95 JCT vs load, ${workload}`, points, 'jct_p95_s', 'p95 JCT (s)'),
      );
    }
  }
  return charts;
}

/** Writes report.json, the charts and report.md into `out`; returns report.md's text. */
export async function writeReport(out: string, report: BenchReport, series: ChartSeries): Promise<string> {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = reportMarkdown(report, await writeCharts(out, report, series));
  writeFileSync(join(out, 'report.md'), markdown);
  return markdown;
}
