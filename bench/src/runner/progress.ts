// A progress bar per run on a terminal, redrawn in place (at most every 2% of the sessions).
import type { Progress } from './run-policy.js';

export interface ProgressBar {
  /** What the next runs belong to (workload, sweep size), shown before the policy. */
  label: string;
  readonly update: Progress;
  /** Wipes the bar's line. */
  clear(): void;
}

const WIDTH = 50;

export function progressBar(stream: NodeJS.WriteStream): ProgressBar {
  let drawn = -1;
  const bar: ProgressBar = {
    label: '',
    update: (policy, done, total) => {
      const pct = Math.floor((done / total) * WIDTH);
      if (pct === drawn && done < total) return;
      drawn = done === total ? -1 : pct;
      stream.write(
        `\r${`${bar.label} ${policy}`.padEnd(34)} [${'#'.repeat(pct)}${'.'.repeat(WIDTH - pct)}] ${done}/${total}`,
      );
    },
    clear: () => stream.write(`\r${' '.repeat(100)}\r`),
  };
  return bar;
}
