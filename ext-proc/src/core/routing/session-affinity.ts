// Where each live session's last step ran, and where the cache manager reserved its next
// step (a warmed endpoint). Within entry, byte (overhead included) and idle bounds,
// least recently used first; reservations expire.
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';
import type { Bounds } from '../../../../core/src/bounded/bounds.js';
import { stringBytes } from '../../../../core/src/bounded/memory-cost.js';

interface Entry {
  endpoint: string;
  atMs: number;
  reservedFor: string | null;
  reservedUntilMs: number;
}

/**
 * Measured fixed cost of one entry besides its key and reserved agent name (the endpoint
 * address is the cluster state's string, shared): Map slots, slot and entry objects.
 */
export const AFFINITY_ENTRY_BYTES = 208;

export class SessionAffinity {
  private readonly entries: BoundedMap<string, Entry>;

  constructor(bounds: Bounds, now: () => number) {
    this.entries = new BoundedMap({
      ...bounds,
      now,
      sizeOf: (key, e) =>
        AFFINITY_ENTRY_BYTES + stringBytes(key) + (e.reservedFor === null ? 0 : stringBytes(e.reservedFor)),
    });
  }

  private static key(workflow: string, session: string): string {
    return `${workflow}\u0000${session}`;
  }

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.entries.bytes;
  }

  /** The endpoint this session should prefer for `agent`: a live reservation first, else its last one. */
  preferred(
    workflow: string,
    session: string,
    agent: string,
    nowMs: number,
  ): { endpoint: string; reserved: boolean } | null {
    const e = this.entries.get(SessionAffinity.key(workflow, session));
    if (!e) return null;
    if (e.reservedFor === agent && nowMs <= e.reservedUntilMs)
      return { endpoint: e.endpoint, reserved: true };
    return { endpoint: e.endpoint, reserved: false };
  }

  placed(workflow: string, session: string, endpoint: string, nowMs: number): void {
    this.set(workflow, session, { endpoint, atMs: nowMs, reservedFor: null, reservedUntilMs: 0 });
  }

  reserve(
    workflow: string,
    session: string,
    agent: string,
    endpoint: string,
    untilMs: number,
    nowMs: number,
  ): void {
    this.set(workflow, session, { endpoint, atMs: nowMs, reservedFor: agent, reservedUntilMs: untilMs });
  }

  /** The live reservation of a session, if any. */
  reservation(workflow: string, session: string, nowMs: number): { agent: string; endpoint: string } | null {
    const e = this.entries.get(SessionAffinity.key(workflow, session));
    if (!e || e.reservedFor === null || nowMs > e.reservedUntilMs) return null;
    return { agent: e.reservedFor, endpoint: e.endpoint };
  }

  private set(workflow: string, session: string, entry: Entry): void {
    this.entries.set(SessionAffinity.key(workflow, session), entry);
  }
}
