// A bounded map with approximate least-recently-used eviction and O(1) operations: entries
// live in a young and an old generation; when the young one fills (half the capacity), the
// old one is dropped whole and the young one becomes old. A hit in the old generation moves
// the entry back to the young one. Unlike delete-and-reinsert LRUs on a JS Map, it never
// leaves deleted slots for iterators to skip, which made those cost O(capacity) per eviction.

export class TwoGenerationCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  /** Entries dropped with a retired generation. */
  evicted = 0;

  constructor(capacity: number) {
    this.half = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Looks up without refreshing. */
  peek(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** Looks up and refreshes (moves an old entry to the young generation). */
  get(key: K): V | undefined {
    const y = this.young.get(key);
    if (y !== undefined) return y;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insertYoung(key, o);
    }
    return o;
  }

  has(key: K): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insertYoung(key, value);
  }

  delete(key: K): boolean {
    return this.young.delete(key) || this.old.delete(key);
  }

  private insertYoung(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.evicted += this.old.size;
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  *entries(): IterableIterator<[K, V]> {
    yield* this.old;
    yield* this.young;
  }
}
