// Session KV retention on one replica: a finished request that carries a retention hint keeps
// references on its full blocks (they stay in GPU memory, count as used and cannot be evicted)
// until the hint's TTL expires or the next request with the same key arrives and takes them.
// This is the pin-with-TTL of Continuum (arXiv 2511.02230) and the per-session KV hold of
// SGLang streaming sessions (Dynamo's `nvext.session_control`, inactivity timeout).

export interface Pin {
  readonly key: string;
  /** Block hashes this pin holds one reference on each. */
  readonly hashes: readonly number[];
  readonly expiresMs: number;
  readonly seq: number;
}

export class KvPins {
  /** Live pins, earliest expiry first (ties: oldest first). */
  private readonly byExpiry: Pin[] = [];
  private readonly byKey = new Map<string, Pin[]>();
  private seq = 0;
  private refs = 0;

  constructor(
    /** Pins at most; beyond it the earliest-expiring ones are released. */
    readonly maxPins: number,
    /**
     * Block references all pins hold at most (8 bytes each): pins sharing blocks (a common
     * system prompt) hold more references than there are blocks, so this bounds the memory
     * when many sessions pin the same content.
     */
    readonly maxRefs: number,
  ) {}

  get size(): number {
    return this.byExpiry.length;
  }

  /** Block references the live pins hold. */
  get heldRefs(): number {
    return this.refs;
  }

  /**
   * Adds a pin; returns the pins released to stay within the bounds (their references to
   * drop), the new one among them if it alone is over the reference bound.
   */
  add(key: string, hashes: readonly number[], expiresMs: number): Pin[] {
    const pin: Pin = { key, hashes, expiresMs, seq: this.seq++ };
    if (hashes.length > this.maxRefs) return [pin];
    const dropped: Pin[] = [];
    while (this.byExpiry.length >= this.maxPins || this.refs + hashes.length > this.maxRefs) {
      const first = this.popEarliest();
      if (!first) break;
      dropped.push(first);
    }
    this.refs += hashes.length;
    let lo = 0;
    let hi = this.byExpiry.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.byExpiry[mid] as Pin).expiresMs <= expiresMs) lo = mid + 1;
      else hi = mid;
    }
    this.byExpiry.splice(lo, 0, pin);
    const list = this.byKey.get(key) ?? [];
    list.push(pin);
    this.byKey.set(key, list);
    return dropped;
  }

  /** The pins of `key`, left in place. */
  peek(key: string): readonly Pin[] {
    return this.byKey.get(key) ?? [];
  }

  /** Removes and returns every pin of `key` (the session's next request takes its blocks). */
  claim(key: string): Pin[] {
    const list = this.byKey.get(key);
    if (!list) return [];
    this.byKey.delete(key);
    for (const pin of list) {
      this.byExpiry.splice(this.byExpiry.indexOf(pin), 1);
      this.refs -= pin.hashes.length;
    }
    return list;
  }

  /** Removes and returns the pins expired at `nowMs`. */
  expire(nowMs: number): Pin[] {
    const out: Pin[] = [];
    while (this.byExpiry.length > 0 && (this.byExpiry[0] as Pin).expiresMs <= nowMs) {
      out.push(this.popEarliest() as Pin);
    }
    return out;
  }

  /** Removes and returns the pin closest to expiry (released first under KV pressure). */
  popEarliest(): Pin | undefined {
    const pin = this.byExpiry.shift();
    if (!pin) return undefined;
    this.refs -= pin.hashes.length;
    const list = this.byKey.get(pin.key) ?? [];
    list.splice(list.indexOf(pin), 1);
    if (list.length === 0) this.byKey.delete(pin.key);
    return pin;
  }
}
