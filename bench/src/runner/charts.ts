// Report charts as SVG, rendered headless with Vega-Lite (no browser, no canvas).
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type Row = Record<string, string | number>;

async function render(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Share of sessions finished within t, per policy. */
export function jctCdf(title: string, jct: Readonly<Record<string, readonly number[]>>): Promise<string> {
  const values: Row[] = [];
  for (const [policy, list] of Object.entries(jct)) {
    const sorted = [...list].sort((a, b) => a - b);
    sorted.forEach((v, i) => values.push({ policy, jct_s: v, share: (i + 1) / sorted.length }));
  }
  return render({
    title,
    width: 480,
    height: 280,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'jct_s', type: 'quantitative', title: 'job completion time (s)' },
      y: { field: 'share', type: 'quantitative', title: 'sessions completed', axis: { format: '%' } },
      color: { field: 'policy', type: 'nominal', legend: { labelLimit: 400 } },
    },
  });
}

/** One metric per policy across the concurrency sweep. */
export function sweep(
  title: string,
  values: Row[],
  metric: string,
  label: string,
  x = 'sessions',
  xLabel = 'sessions in the arrival burst (peak concurrency)',
): Promise<string> {
  return render({
    title,
    width: 480,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', title: xLabel },
      y: { field: metric, type: 'quantitative', title: label },
      color: { field: 'policy', type: 'nominal', legend: { labelLimit: 400 } },
    },
  });
}

/**
 * A grid of small line charts: one column per `column` value, one row per `row` value, `y`
 * against `x` per `series`, on one shared y scale so the panels compare at a glance.
 */
export function grid(
  title: string,
  values: Row[],
  fields: { x: string; y: string; series: string; column: string; row: string },
  labels: { x: string; y: string },
  colors?: Readonly<Record<string, string>>,
): Promise<string> {
  return render({
    title,
    data: { values },
    facet: {
      column: { field: fields.column, type: 'nominal', sort: null, title: null },
      row: { field: fields.row, type: 'nominal', sort: null, title: null },
    },
    spec: {
      width: 170,
      height: 130,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: fields.x, type: 'quantitative', title: labels.x, scale: { zero: false } },
        y: { field: fields.y, type: 'quantitative', title: labels.y, scale: { zero: false } },
        color: {
          field: fields.series,
          type: 'nominal',
          sort: null,
          legend: { orient: 'bottom', labelLimit: 400 },
          ...(colors ? { scale: { domain: Object.keys(colors), range: Object.values(colors) } } : {}),
        },
      },
    },
  });
}

/** A bar per policy. */
export function bars(title: string, values: Row[], metric: string, label: string): Promise<string> {
  return render({
    title,
    width: 360,
    height: 240,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'policy', type: 'nominal', sort: null, title: null },
      y: { field: metric, type: 'quantitative', title: label },
      color: { field: 'policy', type: 'nominal', legend: null },
    },
  });
}

/** GPU-seconds against p95 JCT, a point per autoscaled policy (down and left is better). */
export function costScatter(title: string, values: Row[]): Promise<string> {
  return render({
    title,
    width: 480,
    height: 300,
    data: { values },
    mark: { type: 'point', filled: true, size: 90 },
    encoding: {
      x: { field: 'gpu_seconds', type: 'quantitative', title: 'GPU-seconds', scale: { zero: false } },
      y: { field: 'jct_p95_s', type: 'quantitative', title: 'p95 JCT (s)', scale: { zero: false } },
      color: { field: 'policy', type: 'nominal', legend: { labelLimit: 400 } },
      shape: { field: 'policy', type: 'nominal' },
    },
  });
}
