// The host-memory KV tier of one replica (as vLLM's CPU offloading connector, LMCache's CPU
// backend or SGLang's HiCache keep it): blocks the GPU evicts from its free list are kept here
// by chained hash, least recently used first out, up to a fixed number of blocks. A prompt
// block found here is loaded back over PCIe instead of recomputed.

export class HostKvTier {
  /** Block hashes, least recently stored or used first. */
  private readonly blocks = new Map<number, true>();

  constructor(readonly capacityBlocks: number) {}

  get size(): number {
    return this.blocks.size;
  }

  has(hash: number): boolean {
    return this.blocks.has(hash);
  }

  /** Keeps an evicted GPU block (write-back on eviction), dropping the LRU one when full. */
  store(hash: number): void {
    if (this.capacityBlocks <= 0) return;
    this.blocks.delete(hash);
    this.blocks.set(hash, true);
    if (this.blocks.size > this.capacityBlocks) {
      const oldest = this.blocks.keys().next().value as number;
      this.blocks.delete(oldest);
    }
  }

  /**
   * How many of `hashes` from index `from` on are here without a gap (a prefix hit continues
   * only while every earlier block is available); those blocks become most recently used.
   */
  takeRun(hashes: readonly number[], from: number): number {
    let k = from;
    while (k < hashes.length && this.blocks.has(hashes[k] as number)) k++;
    for (let i = from; i < k; i++) {
      const h = hashes[i] as number;
      this.blocks.delete(h);
      this.blocks.set(h, true);
    }
    return k - from;
  }
}
