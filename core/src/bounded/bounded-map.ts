// The one bounded structure behind every per-session, per-agent and per-workflow table of
// the services: an entry-count bound, a byte bound on an estimate that includes the real
// memory overhead of an entry (the caller's `sizeOf`, built from the measured constants in
// ./memory-cost.ts), and idle expiry on an injected clock.
//
// Entries live in a young and an old generation, each holding at most half of each bound;
// when the young one is full, the old one is dropped whole and the young one becomes old
// (approximate least-recently-used order, O(1) per operation, no iterator walking deleted
// slots). A hit in the old generation moves the entry back to the young one. Generations
// also turn over by time: once the young generation is `idleMs` old, everything in the old
// one was last touched more than `idleMs` ago and is dropped. So an entry idle for longer
// than `idleMs` is never returned, and its memory is gone within `2 * idleMs`.

export interface BoundedMapOptions<K, V> {
  readonly maxEntries: number;
  /** Bound on the summed `sizeOf` of the entries. */
  readonly maxBytes: number;
  /** An entry not touched (set, get) for longer than this is expired; Infinity: never. */
  readonly idleMs: number;
  /** Estimated bytes an entry holds, overhead included (see memory-cost.ts). */
  readonly sizeOf: (key: K, value: V) => number;
  /** Monotonic milliseconds (the service's injected clock). */
  readonly now: () => number;
}

interface Slot<V> {
  value: V;
  bytes: number;
  touchedMs: number;
}

class Generation<K, V> {
  readonly map = new Map<K, Slot<V>>();
  bytes = 0;
  /** Latest touch of any entry put here (an upper bound for those still here). */
  lastTouchMs: number;
  constructor(readonly startedMs: number) {
    this.lastTouchMs = startedMs;
  }
}

export interface EvictionCounts {
  /** Dropped to stay within the entry or byte bound. */
  capacity: number;
  /** Dropped or found expired after `idleMs` without a touch. */
  idle: number;
  /** Refused: larger than half the byte bound on its own. */
  oversized: number;
}

export class BoundedMap<K, V> {
  private young: Generation<K, V>;
  private old: Generation<K, V>;
  private readonly halfEntries: number;
  private readonly halfBytes: number;
  readonly evicted: EvictionCounts = { capacity: 0, idle: 0, oversized: 0 };

  constructor(private readonly options: BoundedMapOptions<K, V>) {
    if (!(options.maxEntries >= 1) || !(options.maxBytes > 0) || !(options.idleMs > 0))
      throw new RangeError('BoundedMap needs maxEntries >= 1, maxBytes > 0 and idleMs > 0');
    this.halfEntries = Math.max(1, Math.floor(options.maxEntries / 2));
    this.halfBytes = options.maxBytes / 2;
    const now = options.now();
    this.young = new Generation(now);
    this.old = new Generation(now);
  }

  get size(): number {
    return this.young.map.size + this.old.map.size;
  }

  /** The summed byte estimate of the entries held (never above `maxBytes`). */
  get bytes(): number {
    return this.young.bytes + this.old.bytes;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  get maxEntries(): number {
    return this.options.maxEntries;
  }

  /** Looks up and refreshes (recency and idle time). */
  get(key: K): V | undefined {
    const now = this.turnOver();
    const y = this.young.map.get(key);
    if (y !== undefined) {
      if (this.expired(y, now)) return this.drop(this.young, key, y);
      y.touchedMs = now;
      this.young.lastTouchMs = now;
      return y.value;
    }
    const o = this.old.map.get(key);
    if (o === undefined) return undefined;
    this.remove(this.old, key, o);
    if (this.expired(o, now)) {
      this.evicted.idle++;
      return undefined;
    }
    o.touchedMs = now;
    this.insertYoung(key, o);
    return o.value;
  }

  /** Looks up without refreshing; expired entries are absent. */
  peek(key: K): V | undefined {
    const slot = this.young.map.get(key) ?? this.old.map.get(key);
    if (slot === undefined || this.expired(slot, this.options.now())) return undefined;
    return slot.value;
  }

  has(key: K): boolean {
    return this.peek(key) !== undefined;
  }

  /** Inserts or replaces (and refreshes); false when the entry alone exceeds half the byte bound. */
  set(key: K, value: V): boolean {
    const now = this.turnOver();
    const bytes = this.options.sizeOf(key, value);
    const y = this.young.map.get(key);
    if (y !== undefined) this.remove(this.young, key, y);
    else {
      const o = this.old.map.get(key);
      if (o !== undefined) this.remove(this.old, key, o);
    }
    if (bytes > this.halfBytes) {
      this.evicted.oversized++;
      return false;
    }
    this.insertYoung(key, { value, bytes, touchedMs: now });
    return true;
  }

  /**
   * Re-estimates an entry's bytes after the caller changed its value in place (and
   * refreshes it); an entry grown past half the byte bound is dropped.
   */
  resize(key: K): void {
    const v = this.get(key);
    if (v !== undefined) this.set(key, v);
  }

  delete(key: K): boolean {
    const y = this.young.map.get(key);
    if (y !== undefined) {
      this.remove(this.young, key, y);
      return true;
    }
    const o = this.old.map.get(key);
    if (o === undefined) return false;
    this.remove(this.old, key, o);
    return true;
  }

  /** Live entries, least recent generation first (expired ones skipped). */
  *entries(): IterableIterator<[K, V]> {
    const now = this.turnOver();
    for (const gen of [this.old, this.young])
      for (const [k, slot] of gen.map) if (!this.expired(slot, now)) yield [k, slot.value];
  }

  /** Drops what expired by time (also done as a side effect of every access). */
  sweep(): void {
    this.turnOver();
  }

  private expired(slot: Slot<V>, now: number): boolean {
    return now - slot.touchedMs > this.options.idleMs;
  }

  private drop(gen: Generation<K, V>, key: K, slot: Slot<V>): undefined {
    this.remove(gen, key, slot);
    this.evicted.idle++;
    return undefined;
  }

  private remove(gen: Generation<K, V>, key: K, slot: Slot<V>): void {
    gen.map.delete(key);
    gen.bytes -= slot.bytes;
  }

  private insertYoung(key: K, slot: Slot<V>): void {
    if (this.young.map.size >= this.halfEntries || this.young.bytes + slot.bytes > this.halfBytes)
      this.rotate(this.options.now(), 'capacity');
    this.young.map.set(key, slot);
    this.young.bytes += slot.bytes;
    this.young.lastTouchMs = slot.touchedMs;
  }

  /**
   * Time-driven turnover: everything in the old generation is idle once the young one is
   * idleMs old, and a generation whose latest touch is idleMs ago is idle as a whole.
   */
  private turnOver(): number {
    const now = this.options.now();
    const idle = this.options.idleMs;
    if (now - this.young.lastTouchMs > idle) {
      this.rotate(now, 'idle');
      this.rotate(now, 'idle');
    } else if (now - this.young.startedMs > idle || now - this.old.lastTouchMs > idle)
      this.rotate(now, 'idle');
    return now;
  }

  private rotate(now: number, reason: 'capacity' | 'idle'): void {
    this.evicted[reason] += this.old.map.size;
    this.old = this.young;
    this.young = new Generation(now);
  }
}
