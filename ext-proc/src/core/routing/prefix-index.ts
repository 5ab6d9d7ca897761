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
   * `computedOnly`, pending blocks (placed, not computed yet) do not count. Candidates
   * holding none are left out.
   */
  matchLengths(
    hashes: readonly number[],
    candidates: readonly string[],
    nowMs: number,
    computedOnly = false,
  ): Map<string, number> {
    const ttlMs = this.ttlMs;
    const out = new Map<string, number>();
    if (hashes.length === 0 || candidates.length === 0) return out;
    const first = this.blocks.peek(hashes[0] as number);
    if (!first) return out;
    // The candidates holding every block so far, compacted in place as they drop out: a long
    // prompt is hundreds of blocks, and a Set per block was most of a request's routing time.
    const alive: string[] = [];
    for (const ep of candidates) {
      if (fresh(first.get(ep), nowMs, ttlMs, computedOnly)) {
        alive.push(ep);
        out.set(ep, 1);
      }
    }
    let count = alive.length;
    let i = 1;
    for (; i < hashes.length && count > 0; i++) {
      const holders = this.blocks.peek(hashes[i] as number);
      if (!holders) break;
      let kept = 0;
      for (let j = 0; j < count; j++) {
        const ep = alive[j] as string;
        if (fresh(holders.get(ep), nowMs, ttlMs, computedOnly)) alive[kept++] = ep;
        else out.set(ep, i);
      }
      count = kept;
    }
    // The rest held every block up to where the walk stopped.
    for (let j = 0; j < count; j++) out.set(alive[j] as string, i);
    return out;
  }
}

/**
 * Whether a holder's stamp counts at `nowMs`: within the TTL, and computed unless pending
 * blocks count too. A module function, not a closure made per call: tsx transpiles with
 * esbuild's keepNames, which adds a defineProperty to every closure creation.
 */
function fresh(at: number | undefined, nowMs: number, ttlMs: number, computedOnly: boolean): boolean {
  return at !== undefined && (at >= 0 ? nowMs - at <= ttlMs : !computedOnly && nowMs + at + 1 <= ttlMs);
}
