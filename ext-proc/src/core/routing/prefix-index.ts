// An approximate, bounded index of which prompt-prefix blocks each endpoint holds,
// learned from our own placements (and warm requests). Entries age out after `ttlMs`
// (by then the engine will likely have evicted them) and the least recently used go first
// beyond about `maxBlocks` block hashes in total.
import { TwoGenerationCache } from '../../../../core/src/bounded/two-generation-cache.js';

export class PrefixIndex {
  /** block hash -> endpoint -> last time placed there. */
  private readonly blocks: TwoGenerationCache<number, Map<string, number>>;

  constructor(
    maxBlocks: number,
    private readonly ttlMs: number,
  ) {
    this.blocks = new TwoGenerationCache(maxBlocks);
  }

  get size(): number {
    return this.blocks.size;
  }

  /** Records that `endpoint` now holds these blocks. */
  record(hashes: readonly number[], endpoint: string, nowMs: number): void {
    for (const h of hashes) {
      const holders = this.blocks.get(h);
      if (holders) holders.set(endpoint, nowMs);
      else this.blocks.set(h, new Map([[endpoint, nowMs]]));
    }
  }

  /** Leading blocks each candidate holds (fresh ones only), by endpoint address. */
  matchLengths(hashes: readonly number[], candidates: readonly string[], nowMs: number): Map<string, number> {
    const out = new Map<string, number>();
    let alive = new Set(candidates);
    for (let i = 0; i < hashes.length && alive.size > 0; i++) {
      const holders = this.blocks.peek(hashes[i] as number);
      if (!holders) break;
      const next = new Set<string>();
      // Walk whichever side is smaller: few endpoints usually hold a block.
      if (holders.size < alive.size) {
        for (const [ep, at] of holders) {
          if (alive.has(ep) && nowMs - at <= this.ttlMs) {
            next.add(ep);
            out.set(ep, i + 1);
          }
        }
      } else {
        for (const ep of alive) {
          const at = holders.get(ep);
          if (at !== undefined && nowMs - at <= this.ttlMs) {
            next.add(ep);
            out.set(ep, i + 1);
          }
        }
      }
      alive = next;
    }
    return out;
  }
}
