// An approximate, bounded index of which prompt-prefix blocks each endpoint holds,
// learned from our own placements (and warm requests). Entries age out after `ttlMs`
// (by then the engine will likely have evicted them) and the least recently used go first
// beyond the entry bound (block hashes) or the byte bound (overhead included).
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';

/** Measured fixed cost of one block besides its holders: Map slots, slot, the holders' Map. */
export const PREFIX_BLOCK_BYTES = 296;
/** Measured cost of one holder (endpoint addresses are the cluster state's strings, shared). */
export const PREFIX_HOLDER_BYTES = 24;

export class PrefixIndex {
  /** block hash -> endpoint -> last time placed there. */
  private readonly blocks: BoundedMap<number, Map<string, number>>;
  private readonly ttlMs: number;

  constructor(bounds: { maxBlocks: number; maxBytes: number; ttlMs: number }, now: () => number) {
    this.ttlMs = bounds.ttlMs;
    this.blocks = new BoundedMap({
      maxEntries: bounds.maxBlocks,
      maxBytes: bounds.maxBytes,
      idleMs: bounds.ttlMs,
      now,
      sizeOf: (_h, holders) => PREFIX_BLOCK_BYTES + holders.size * PREFIX_HOLDER_BYTES,
    });
  }

  get size(): number {
    return this.blocks.size;
  }

  get sizeBytes(): number {
    return this.blocks.bytes;
  }

  /** Records that `endpoint` now holds these blocks. */
  record(hashes: readonly number[], endpoint: string, nowMs: number): void {
    for (const h of hashes) {
      const holders = this.blocks.get(h);
      if (!holders) this.blocks.set(h, new Map([[endpoint, nowMs]]));
      else if (holders.has(endpoint)) holders.set(endpoint, nowMs);
      else {
        holders.set(endpoint, nowMs);
        this.blocks.resize(h);
      }
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
