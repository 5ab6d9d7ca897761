// Reads the few samples we need from a Prometheus text exposition (a model server's
// /metrics). A small reader of the line format (name, optional {labels}, value); the
// maintained npm parsers for this format are abandoned, and we read four metric names.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string, wanted: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m || !wanted.has(m[1] as string)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[4]);
    if (Number.isNaN(value) && m[4] !== 'NaN') continue;
    out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

export interface ServerLoad {
  readonly running: number | null;
  readonly waiting: number | null;
  /** KV-cache usage in [0,1]. */
  readonly kvUsage: number | null;
  /** num_gpu_blocks x block_size, when the server reports its cache config. */
  readonly kvCapacityTokens: number | null;
}

export const VLLM_METRICS: ReadonlySet<string> = new Set([
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:kv_cache_usage_perc',
  'vllm:gpu_cache_usage_perc',
  'vllm:cache_config_info',
]);

/** Sums over label sets (a server may report per model or per engine). */
export function serverLoad(samples: readonly Sample[]): ServerLoad {
  const sum = (name: string): number | null => {
    const s = samples.filter((x) => x.name === name);
    return s.length === 0 ? null : s.reduce((a, x) => a + x.value, 0);
  };
  const usage = samples.filter(
    (x) => x.name === 'vllm:kv_cache_usage_perc' || x.name === 'vllm:gpu_cache_usage_perc',
  );
  const info = samples.find((x) => x.name === 'vllm:cache_config_info');
  const blocks = Number(info?.labels['num_gpu_blocks']);
  const blockSize = Number(info?.labels['block_size']);
  return {
    running: sum('vllm:num_requests_running'),
    waiting: sum('vllm:num_requests_waiting'),
    kvUsage: usage.length === 0 ? null : Math.max(...usage.map((u) => u.value)),
    kvCapacityTokens: blocks > 0 && blockSize > 0 ? blocks * blockSize : null,
  };
}
