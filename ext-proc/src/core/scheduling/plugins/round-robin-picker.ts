import type { PickerPlugin } from '../plugin.js';

/** Takes candidates in turn, ignoring scores: the plain baseline. One instance (turn) per profile. */
export const roundRobinPicker: PickerPlugin = {
  type: 'round-robin-picker',
  kind: 'picker',
  create: () => {
    let next = 0;
    return {
      name: 'round-robin-picker',
      pick: (totals, count) => {
        const n = totals.length;
        if (n === 0) return [];
        const start = next % n;
        next = (next + 1) % Number.MAX_SAFE_INTEGER;
        return Array.from({ length: Math.min(count, n) }, (_, i) => (start + i) % n);
      },
    };
  },
};
