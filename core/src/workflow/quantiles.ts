// Bounded sample keeping for per-agent distributions: a ring of the most recent values,
// which also follows drift (old behaviour ages out).

export class RecentValues {
  private readonly values: number[] = [];
  private next = 0;
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(value: number): void {
    this.total++;
    if (this.values.length < this.capacity) this.values.push(value);
    else {
      this.values[this.next] = value;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  get count(): number {
    return this.total;
  }

  get size(): number {
    return this.values.length;
  }

  /** Quantiles by nearest rank; NaN when empty. */
  quantiles(qs: readonly number[]): number[] {
    if (this.values.length === 0) return qs.map(() => Number.NaN);
    const sorted = [...this.values].sort((a, b) => a - b);
    return qs.map(
      (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number,
    );
  }

  mean(): number {
    if (this.values.length === 0) return Number.NaN;
    let sum = 0;
    for (const v of this.values) sum += v;
    return sum / this.values.length;
  }
}
