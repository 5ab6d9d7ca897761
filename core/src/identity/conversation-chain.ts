// Sessions for clients that send no session id: a chat request whose conversation (its
// messages after the instructions) extends an earlier request's conversation continues that
// request's session, as agent loops resend the whole conversation with each call and
// multi-agent frameworks hand a role the conversation so far. Only hashes are kept (see
// conversationPrefixHashes), one per request, in a bounded LRU.
import type { Clock } from '../clock.js';
import { BoundedLru, type BoundedLruLimits } from './bounded-lru.js';

export class ConversationChains {
  private readonly ends: BoundedLru<string>;

  constructor(limits: BoundedLruLimits, clock: Clock) {
    this.ends = new BoundedLru(limits, clock);
  }

  /**
   * The session of the longest earlier conversation this one extends (or repeats: a retry),
   * or null. `hashes` are the request's conversation prefix hashes.
   */
  find(hashes: readonly number[]): string | null {
    for (let k = hashes.length - 1; k >= 0; k--) {
      const session = this.ends.get((hashes[k] as number).toString(36));
      if (session !== undefined) return session;
    }
    return null;
  }

  /** Records the request's whole conversation as belonging to `session`. */
  remember(hashes: readonly number[], session: string): void {
    const last = hashes[hashes.length - 1];
    if (last === undefined) return;
    this.ends.set(last.toString(36), session, session.length * 2);
  }

  get size(): number {
    return this.ends.size;
  }

  get bytes(): number {
    return this.ends.bytes;
  }
}
