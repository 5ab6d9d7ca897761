// Weighted least-attained service between flows (tenants, workflows): the flow that has
// received the fewest weighted tokens goes first. A flow that becomes backlogged starts at
// the least count among the backlogged flows (as the virtual token counter of Sheng et al.,
// "Fairness in Serving Large Language Models", OSDI 2024), so an idle flow cannot bank
// service and a new one cannot starve the others. Counters exist only for backlogged flows.
export class FairShare {
  private readonly attained = new Map<string, number>();

  constructor(private readonly weights: ReadonlyMap<string, number>) {}

  private weight(flow: string): number {
    const w = this.weights.get(flow);
    return w !== undefined && w > 0 ? w : 1;
  }

  /** The flow has held requests again. */
  activate(flow: string): void {
    if (this.attained.has(flow)) return;
    let least = Number.POSITIVE_INFINITY;
    for (const v of this.attained.values()) least = Math.min(least, v);
    this.attained.set(flow, Number.isFinite(least) ? least : 0);
  }

  /** The flow has no held request left. */
  deactivate(flow: string): void {
    this.attained.delete(flow);
  }

  /** A request of the flow was released with this many tokens of work (prompt and output). */
  charge(flow: string, tokens: number): void {
    const v = this.attained.get(flow);
    if (v !== undefined) this.attained.set(flow, v + tokens / this.weight(flow));
  }

  attainedOf(flow: string): number {
    return this.attained.get(flow) ?? 0;
  }

  /** Backlogged flows, least attained first. */
  order(flows: Iterable<string>): string[] {
    return [...flows].sort((a, b) => this.attainedOf(a) - this.attainedOf(b) || (a < b ? -1 : 1));
  }
}
