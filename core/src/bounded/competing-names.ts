// A bounded table of names from untrusted input (agent and workflow names) where unknown
// names compete by evidence and recency instead of first come, first served: every sighting
// adds one to a name's score, scores halve every `halfLifeMs` without sightings, and a new
// name always gets in by evicting the name with the lowest score (the least recently seen
// among equals). So a flood of junk names seen once each only displaces other junk, a real
// name seen again outranks all of it, and names that stop being seen (junk restored from
// storage included) fade out instead of holding their places for good. Up to 64 names the
// weakest is found exactly; beyond, among 32 names sampled at random (O(1) per admission,
// as for Redis's LFU), which a well-evidenced name still survives.

interface Entry<V> {
  /** Score at `lastMs`. */
  score: number;
  lastMs: number;
  readonly value: V;
  /** Position in `order`. */
  index: number;
}

const EXACT_UP_TO = 64;
const SAMPLES = 32;

export interface Admission<V> {
  readonly value: V;
  /** The name evicted to make room, with its value (for the caller to release). */
  readonly evicted: readonly [string, V] | null;
}

export class CompetingNames<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** The names, for sampling by position. */
  private readonly order: string[] = [];
  private seed = 0x9e3779b9;

  constructor(
    private readonly capacity: number,
    private readonly halfLifeMs: number,
  ) {
    if (!(capacity >= 1) || !(halfLifeMs > 0)) throw new RangeError('CompetingNames needs capacity >= 1');
  }

  get size(): number {
    return this.entries.size;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): V | undefined {
    return this.entries.get(name)?.value;
  }

  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  *values(): IterableIterator<V> {
    for (const e of this.entries.values()) yield e.value;
  }

  /** log2 of the name's score at `nowMs` (comparable across names). */
  private weight(e: Entry<V>, nowMs: number): number {
    return Math.log2(e.score) - Math.max(0, nowMs - e.lastMs) / this.halfLifeMs;
  }

  /** Records `evidence` sightings of `name` at `nowMs`; admits it (evicting the weakest) if new. */
  observe(name: string, nowMs: number, create: () => V, evidence = 1): Admission<V> {
    const known = this.entries.get(name);
    if (known) {
      known.score = 2 ** this.weight(known, nowMs) + evidence;
      known.lastMs = Math.max(known.lastMs, nowMs);
      return { value: known.value, evicted: null };
    }
    let evicted: [string, V] | null = null;
    if (this.entries.size >= this.capacity) {
      const victim = this.weakest(nowMs);
      const e = this.entries.get(victim) as Entry<V>;
      this.delete(victim);
      evicted = [victim, e.value];
    }
    const entry: Entry<V> = { score: evidence, lastMs: nowMs, value: create(), index: this.order.length };
    this.entries.set(name, entry);
    this.order.push(name);
    return { value: entry.value, evicted };
  }

  private weakest(nowMs: number): string {
    const exact = this.order.length <= EXACT_UP_TO;
    let victim = this.order[0] as string;
    let lowest = Number.POSITIVE_INFINITY;
    let victimLast = Number.POSITIVE_INFINITY;
    for (let k = 0; k < (exact ? this.order.length : SAMPLES); k++) {
      const n = this.order[exact ? k : this.random(this.order.length)] as string;
      const e = this.entries.get(n) as Entry<V>;
      const w = this.weight(e, nowMs);
      if (w < lowest || (w === lowest && e.lastMs < victimLast)) {
        victim = n;
        lowest = w;
        victimLast = e.lastMs;
      }
    }
    return victim;
  }

  /** xorshift32: deterministic, so runs and tests repeat. */
  private random(below: number): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed % below;
  }

  /** Evicts the weakest name (as a new name would), for a caller over its byte bound. */
  evictWeakest(nowMs: number): [string, V] | null {
    if (this.entries.size === 0) return null;
    const victim = this.weakest(nowMs);
    const e = this.entries.get(victim) as Entry<V>;
    this.delete(victim);
    return [victim, e.value];
  }

  /** Removes and returns the names last seen more than `idleMs` before `nowMs` (O(size)). */
  expireIdle(nowMs: number, idleMs: number): [string, V][] {
    const out: [string, V][] = [];
    for (const [name, e] of this.entries) if (nowMs - e.lastMs > idleMs) out.push([name, e.value]);
    for (const [name] of out) this.delete(name);
    return out;
  }

  delete(name: string): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    this.entries.delete(name);
    const last = this.order.pop() as string;
    if (last !== name) {
      this.order[e.index] = last;
      (this.entries.get(last) as Entry<V>).index = e.index;
    }
    return true;
  }
}
