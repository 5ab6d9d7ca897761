// Simulated prompts have no real text: a prompt is a sequence of runs (a shared prefix id
// and length, earlier steps' new tokens and outputs, fresh tokens). These helpers turn runs
// into the engine's chained 16-token block hashes and into the deterministic text the
// gateway hashes for its prefix index, so both see the same sharing.

export interface Run {
  readonly key: string;
  readonly tokens: number;
}

function mix(h: number, s: string): number {
  let h1 = (h ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < s.length; i++) h1 = Math.imul(h1 ^ s.charCodeAt(i), 2654435761);
  h1 ^= h1 >>> 15;
  return (h1 >>> 0) + (h % 0x1fffff) * 4294967296;
}

/** Chained hashes of the full `blockSize`-token blocks of the runs. */
export function blockHashes(runs: readonly Run[], blockSize: number): number[] {
  const out: number[] = [];
  let previous = 0;
  let pieces = '';
  let filled = 0;
  for (const run of runs) {
    let offset = 0;
    while (offset < run.tokens) {
      const take = Math.min(blockSize - filled, run.tokens - offset);
      pieces += `${run.key}@${offset}+${take};`;
      filled += take;
      offset += take;
      if (filled === blockSize) {
        previous = mix(previous, pieces);
        out.push(previous);
        pieces = '';
        filled = 0;
      }
    }
  }
  return out;
}

/**
 * The run as text (what the gateway sees and hashes): a marker naming the run, padded to
 * about 4 characters per token. The markers make the text decodable back into runs, which
 * the simulated cluster needs to turn a warm request's messages into engine blocks.
 */
export function runText(run: Run): string {
  const marker = `\u27e6${run.key}#${run.tokens}\u27e7`;
  return marker.padEnd(Math.max(marker.length, run.tokens * 4), '.');
}

const MARKER = /\u27e6([^#\u27e7]+)#(\d+)\u27e7/g;

/** The runs a text made of runText() pieces stands for, in order. */
export function textRuns(text: string): Run[] {
  return [...text.matchAll(MARKER)].map((m) => ({ key: m[1] as string, tokens: Number(m[2]) }));
}
