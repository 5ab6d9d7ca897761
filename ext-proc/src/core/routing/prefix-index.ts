// An approximate, bounded index of which prompt-prefix blocks each endpoint holds,
// learned from our own placements (and warm requests). A block placed on an endpoint is
// pending until the request that carries it completes there (`confirm`): until then the
// engine has not computed it, so a parallel sibling cannot hit it. Entries age out after `ttlMs`
// (by then the engine will likely have evicted them) and the least recently used go first
// beyond the entry bound (block hashes) or the byte bound (overhead included).
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';

/** Measured fixed cost of one block besides its holders: Map slots, slot, the holders' Map. */
export const PREFIX_BLOCK_BYTES = 296;
/** Measured cost of one holder (endpoint addresses are the cluster state's strings, shared). */
export const PREFIX_HOLDER_BYTES = 24;

export class PrefixIndex {
  /**
   * block hash -> endpoint -> last time placed there; negative (-time) while pending: placed
   * but not yet computed by a completed request.
   */
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

  /**
   * Records that `endpoint` now holds these blocks: pending where it did not hold them
   * computed (a request placed there computes them), refreshed where it did.
   */
  record(hashes: readonly number[], endpoint: string, nowMs: number): void {
    // A pending stamp is -(now + 1), so that time 0 has a sign.
    const pending = -(nowMs + 1);
    for (const h of hashes) {
      const holders = this.blocks.get(h);
      if (!holders) this.blocks.set(h, new Map([[endpoint, pending]]));
      else {
        const at = holders.get(endpoint);
        if (at !== undefined) holders.set(endpoint, at >= 0 ? nowMs : pending);
        else {
          holders.set(endpoint, pending);
          this.blocks.resize(h);
        }
      }
    }
  }

  /** The request that carried these blocks completed on `endpoint`: they are computed there. */
  confirm(hashes: readonly number[], endpoint: string, nowMs: number): void {
    for (const h of hashes) {
      const holders = this.blocks.peek(h);
      if (holders?.has(endpoint)) holders.set(endpoint, nowMs);
    }
  }

  /**
   * Leading blocks each candidate holds (fresh ones only), by endpoint address; with
   * `computedOnly`, pending blocks (placed, not computed yet) do not count.
   */
  matchLengths(
    hashes: readonly number[],
    candidates: readonly string[],
    nowMs: number,
    computedOnly = false,
  ): Map<string, number> {
    const live = (at: number | undefined): boolean =>
      at !== undefined &&
      (at >= 0 ? nowMs - at <= this.ttlMs : !computedOnly && nowMs + at + 1 <= this.ttlMs);
    const out = new Map<string, number>();
    let alive = new Set(candidates);
    for (let i = 0; i < hashes.length && alive.size > 0; i++) {
      const holders = this.blocks.peek(hashes[i] as number);
      if (!holders) break;
      const next = new Set<string>();
      // Walk whichever side is smaller: few endpoints usually hold a block.
      if (holders.size < alive.size) {
        for (const [ep, at] of holders) {
          if (alive.has(ep) && live(at)) {
            next.add(ep);
            out.set(ep, i + 1);
          }
        }
      } else {
        for (const ep of alive) {
          if (live(holders.get(ep))) {
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
