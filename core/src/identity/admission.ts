// Which inferred names (role and workflow fingerprints) are established: a name must be seen
// `minCount` times while it is a candidate before it is used. Candidates and established
// names live in separate bounded tables, so a flood of new names (a client changing its
// system prompt on every request, a million distinct fingerprints) only churns the
// candidates and never evicts an established name; established names leave only when
// idle for their own, longer expiry, or for other established names beyond their bound.
import type { Clock } from '../clock.js';
import { BoundedLru } from './bounded-lru.js';

export interface AdmissionLimits {
  readonly minCount: number;
  readonly maxEstablished: number;
  readonly maxCandidates: number;
  readonly maxBytes: number;
  readonly candidateIdleMs: number;
  readonly establishedIdleMs: number;
}

export class Admission {
  private readonly candidates: BoundedLru<number>;
  private readonly established: BoundedLru<true>;
  private readonly minCount: number;

  constructor(limits: AdmissionLimits, clock: Clock) {
    this.minCount = limits.minCount;
    this.candidates = new BoundedLru(
      { maxEntries: limits.maxCandidates, maxBytes: limits.maxBytes / 2, idleMs: limits.candidateIdleMs },
      clock,
    );
    this.established = new BoundedLru(
      {
        maxEntries: limits.maxEstablished,
        maxBytes: limits.maxBytes / 2,
        idleMs: limits.establishedIdleMs,
      },
      clock,
    );
  }

  /** Counts one sighting of `name`; true when it is (now) established. */
  note(name: string): boolean {
    if (this.established.get(name)) return true;
    const count = (this.candidates.get(name) ?? 0) + 1;
    if (count >= this.minCount) {
      this.candidates.delete(name);
      this.established.set(name, true, 8);
      return true;
    }
    this.candidates.set(name, count, 8);
    return false;
  }

  /**
   * Another replica's sighting of `name`: established there (so it is here too), or one more
   * count, so that every replica counts every replica's sightings.
   */
  sighted(name: string, established: boolean): boolean {
    if (!established) return this.note(name);
    this.candidates.delete(name);
    this.established.set(name, true, 8);
    return true;
  }

  /** True when established (refreshes it). */
  has(name: string): boolean {
    return this.established.get(name) === true;
  }

  get establishedCount(): number {
    return this.established.size;
  }

  get candidateCount(): number {
    return this.candidates.size;
  }

  get bytes(): number {
    return this.candidates.bytes + this.established.bytes;
  }
}
