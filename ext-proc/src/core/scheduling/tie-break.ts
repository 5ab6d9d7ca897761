// Exact ties between endpoints are broken by a pseudo-random draw seeded with what the
// request is (its session and its place in it), never by process state: every ext-proc
// replica that sees the same session state breaks a tie the same way, so a session spread
// over replicas by Envoy lands where it would on one. Requests without a session draw from
// the injected source.

/** FNV-1a over a string's UTF-16 code units (32 bits). */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class TieBreak {
  private state = 0;
  private seeded = false;

  constructor(
    private readonly fallback: () => number,
    /** Shared by every replica of a deployment (the bench varies it with its seed). */
    private readonly base = 0,
  ) {}

  /** Seeds the next draws with `key` (null: draw from the injected source). */
  seed(key: string | null): void {
    this.seeded = key !== null;
    if (key !== null) this.state = hashString(`${this.base}\u0000${key}`);
  }

  /** Uniform [0,1): mulberry32 on the seeded state, or the injected source. */
  next(): number {
    if (!this.seeded) return this.fallback();
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
