// The three bounds every per-session, per-agent and per-workflow table takes.
export interface Bounds {
  readonly maxEntries: number;
  /** Bound on the entries' estimated bytes, overhead included (memory-cost.ts). */
  readonly maxBytes: number;
  /** An entry untouched for longer than this is forgotten. */
  readonly idleMs: number;
}
