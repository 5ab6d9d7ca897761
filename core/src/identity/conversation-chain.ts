// Sessions for clients that send no session id: a chat request whose conversation (its
// messages after the instructions) extends an earlier request's conversation continues that
// request's session, as agent loops resend the whole conversation with each call and
// multi-agent frameworks hand a role the conversation so far. Only hashes are kept (see
// conversationPrefixHashes), one per request, in bounded LRUs: one for sessions of
// established workflows and one, smaller, for the rest, so that a flood of conversations
// nobody will route by (new fingerprints, hostile or not) cannot evict real sessions' ends.
import type { Clock } from '../clock.js';
import { BoundedLru, type BoundedLruLimits } from './bounded-lru.js';

export class ConversationChains {
  private readonly admitted: BoundedLru<string>;
  private readonly probation: BoundedLru<string>;

  /** `probation` bounds the ends of sessions whose workflow was not established (default: `limits`). */
  constructor(limits: BoundedLruLimits, clock: Clock, probation: BoundedLruLimits = limits) {
    this.admitted = new BoundedLru(limits, clock);
    this.probation = new BoundedLru(probation, clock);
  }

  /**
   * The session of the longest earlier conversation this one extends (or repeats: a retry),
   * or null. `hashes` are the request's conversation prefix hashes.
   */
  find(hashes: readonly number[]): string | null {
    for (let k = hashes.length - 1; k >= 0; k--) {
      const key = (hashes[k] as number).toString(36);
      const session = this.admitted.get(key) ?? this.probation.get(key);
      if (session !== undefined) return session;
    }
    return null;
  }

  /** Records the request's whole conversation as belonging to `session`. */
  remember(hashes: readonly number[], session: string, admitted = true): void {
    const last = hashes[hashes.length - 1];
    if (last !== undefined) this.rememberEnd(last, session, admitted);
  }

  /** Records one conversation's last prefix hash (another replica's request) as `session`'s. */
  rememberEnd(end: number, session: string, admitted = true): void {
    (admitted ? this.admitted : this.probation).set(end.toString(36), session, session.length * 2);
  }

  get size(): number {
    return this.admitted.size + this.probation.size;
  }

  get bytes(): number {
    return this.admitted.bytes + this.probation.bytes;
  }
}
