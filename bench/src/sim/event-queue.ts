// A binary min-heap of timed events for the discrete-event simulation. Events at the same
// time run in insertion order, so runs are deterministic.

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: Event[] = [];
  private seq = 0;
  now = 0;

  schedule(at: number, run: () => void): void {
    const e = { at: Math.max(at, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(h[parent] as Event, e)) break;
      h[i] = h[parent] as Event;
      i = parent;
    }
    h[i] = e;
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  /** Runs events in time order until none is left or `until` is passed. */
  run(until = Number.POSITIVE_INFINITY): void {
    const h = this.heap;
    while (h.length > 0) {
      const top = h[0] as Event;
      if (top.at > until) return;
      const last = h.pop() as Event;
      if (h.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          const cand = (k: number) => (k === i ? last : (h[k] as Event));
          if (l < h.length && this.less(h[l] as Event, cand(m))) m = l;
          if (r < h.length && this.less(h[r] as Event, cand(m))) m = r;
          if (m === i) break;
          h[i] = h[m] as Event;
          i = m;
        }
        h[i] = last;
      }
      this.now = top.at;
      top.run();
    }
  }

  get size(): number {
    return this.heap.length;
  }
}
