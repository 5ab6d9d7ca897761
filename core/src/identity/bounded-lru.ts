// A least-recently-used map bounded three ways: entry count, estimated bytes (keys, values
// and a fixed per-entry overhead for the map slot and the list node), and idle time on an
// injected clock. The recency list is intrusive and doubly linked, so every operation is
// O(1) amortised whatever the churn (no deleted Map slots for iterators to skip). Identity
// resolution keeps all its per-client state in these: no client input can grow it further.
import type { Clock } from '../clock.js';

/** Estimated bytes of one entry beyond its key and value: Map slot, node object, fields. */
export const ENTRY_OVERHEAD_BYTES = 160;

interface Node<V> {
  key: string;
  value: V;
  bytes: number;
  touchedMs: number;
  newer: Node<V> | null;
  older: Node<V> | null;
}

export interface BoundedLruLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** An entry untouched for this long is gone (0: never). */
  readonly idleMs: number;
}

export class BoundedLru<V> {
  private readonly map = new Map<string, Node<V>>();
  private newest: Node<V> | null = null;
  private oldest: Node<V> | null = null;
  private usedBytes = 0;
  /** Entries dropped to stay within the count or byte bound. */
  evicted = 0;
  /** Entries dropped for being idle. */
  expired = 0;

  constructor(
    private readonly limits: BoundedLruLimits,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Estimated bytes held, overhead included. */
  get bytes(): number {
    return this.usedBytes;
  }

  /** Looks up and refreshes; an idle-expired entry is dropped and not returned. */
  get(key: string): V | undefined {
    const node = this.map.get(key);
    if (!node) return undefined;
    const now = this.clock.now();
    if (this.isIdle(node, now)) {
      this.remove(node);
      this.expired++;
      return undefined;
    }
    node.touchedMs = now;
    this.moveToNewest(node);
    return node.value;
  }

  /** Sets (and refreshes) an entry of `valueBytes` estimated bytes, then enforces the bounds. */
  set(key: string, value: V, valueBytes: number): void {
    const now = this.clock.now();
    const bytes = key.length * 2 + valueBytes + ENTRY_OVERHEAD_BYTES;
    const existing = this.map.get(key);
    if (existing) {
      this.usedBytes += bytes - existing.bytes;
      existing.value = value;
      existing.bytes = bytes;
      existing.touchedMs = now;
      this.moveToNewest(existing);
    } else {
      const node: Node<V> = { key, value, bytes, touchedMs: now, newer: null, older: this.newest };
      if (this.newest) this.newest.newer = node;
      this.newest = node;
      if (!this.oldest) this.oldest = node;
      this.map.set(key, node);
      this.usedBytes += bytes;
    }
    this.enforce(now);
  }

  delete(key: string): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.remove(node);
    return true;
  }

  private isIdle(node: Node<V>, now: number): boolean {
    return this.limits.idleMs > 0 && now - node.touchedMs >= this.limits.idleMs;
  }

  private enforce(now: number): void {
    // Idle entries first (the oldest end holds them), then whatever the bounds still require.
    while (this.oldest && this.isIdle(this.oldest, now)) {
      this.remove(this.oldest);
      this.expired++;
    }
    while (this.oldest && (this.map.size > this.limits.maxEntries || this.usedBytes > this.limits.maxBytes)) {
      this.remove(this.oldest);
      this.evicted++;
    }
  }

  private moveToNewest(node: Node<V>): void {
    if (this.newest === node) return;
    this.unlink(node);
    node.older = this.newest;
    node.newer = null;
    if (this.newest) this.newest.newer = node;
    this.newest = node;
    if (!this.oldest) this.oldest = node;
  }

  private unlink(node: Node<V>): void {
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    node.newer = null;
    node.older = null;
  }

  private remove(node: Node<V>): void {
    this.unlink(node);
    this.map.delete(node.key);
    this.usedBytes -= node.bytes;
  }
}
