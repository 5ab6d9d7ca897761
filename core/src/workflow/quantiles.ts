// Bounded sample keeping for per-agent distributions: a ring of the most recent values,
// which also follows drift (old behaviour ages out). The ring is a Float64Array grown by
// doubling up to its capacity, so its memory is known exactly (`bytes`).

/** V8's cost of a Float64Array besides its elements: the array and buffer objects, backing store record. */
export const TYPED_ARRAY_OVERHEAD_BYTES = 160;
/** The ring object itself (fields, map word). */
const RING_OBJECT_BYTES = 48;
const INITIAL = 8;

export class RecentValues {
  private values: Float64Array | null = null;
  private length = 0;
  private next = 0;
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(value: number): void {
    this.total++;
    if (this.length < this.capacity) {
      if (this.values === null || this.length === this.values.length) {
        const grown = new Float64Array(Math.min(this.capacity, Math.max(INITIAL, 2 * this.length)));
        if (this.values) grown.set(this.values);
        this.values = grown;
      }
      this.values[this.length++] = value;
    } else {
      (this.values as Float64Array)[this.next] = value;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  get count(): number {
    return this.total;
  }

  get size(): number {
    return this.length;
  }

  /** Bytes held, overhead included. */
  get bytes(): number {
    return RING_OBJECT_BYTES + (this.values ? TYPED_ARRAY_OVERHEAD_BYTES + 8 * this.values.length : 0);
  }

  private kept(): Float64Array {
    return this.values ? this.values.subarray(0, this.length) : new Float64Array(0);
  }

  /** Quantiles by nearest rank; NaN when empty. */
  quantiles(qs: readonly number[]): number[] {
    if (this.length === 0) return qs.map(() => Number.NaN);
    const sorted = Float64Array.from(this.kept()).sort();
    return qs.map(
      (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number,
    );
  }

  mean(): number {
    if (this.length === 0) return Number.NaN;
    let sum = 0;
    for (const v of this.kept()) sum += v;
    return sum / this.length;
  }
}
