// Each live session's latest exchange (the request's messages after its system prompt,
// and the generated output), so the cache manager can warm the next agent with its system
// prompt plus the history it will carry. Within entry, byte (overhead included) and idle
// bounds (least recently updated sessions go first) and a per-session bound; never logged;
// it leaves the process only in warm requests to our own endpoints.
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';
import type { Bounds } from '../../../../core/src/bounded/bounds.js';
import { stringBytes } from '../../../../core/src/bounded/memory-cost.js';
import { sessionKey } from '../../../../core/src/workflow/identifiers.js';

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

export interface HistoryEntry {
  readonly model: string;
  /** The latest request's messages after its leading system message, then the output. */
  readonly messages: readonly ChatMessage[];
}

/** Measured fixed cost of one entry besides its strings and messages: Map slots, slot, entry, array. */
export const HISTORY_ENTRY_BYTES = 344;
/** Measured cost of one kept message besides its strings: the object and its array slot. */
export const HISTORY_MESSAGE_BYTES = 24;

/** An entry's estimated bytes, overhead included. */
export function historyBytes(key: string, entry: HistoryEntry): number {
  let bytes = HISTORY_ENTRY_BYTES + stringBytes(key) + stringBytes(entry.model);
  for (const m of entry.messages)
    bytes += HISTORY_MESSAGE_BYTES + stringBytes(m.role) + stringBytes(m.content);
  return bytes;
}

export class SessionHistory {
  private readonly entries: BoundedMap<string, HistoryEntry>;

  constructor(
    bounds: Bounds,
    private readonly maxSessionBytes: number,
    now: () => number,
  ) {
    this.entries = new BoundedMap({ ...bounds, now, sizeOf: historyBytes });
  }

  /** Records a completed exchange (chat requests with plain-text messages only). */
  record(
    workflow: string,
    session: string,
    model: string,
    json: Record<string, unknown>,
    output: string,
  ): void {
    const key = sessionKey(workflow, session);
    const messages = json['messages'];
    if (!Array.isArray(messages)) return;
    const kept: ChatMessage[] = [];
    for (const [i, m] of messages.entries()) {
      const msg = m as { role?: unknown; content?: unknown };
      if (typeof msg.role !== 'string' || typeof msg.content !== 'string') return;
      if (i === 0 && msg.role === 'system') continue;
      kept.push({ role: msg.role, content: msg.content });
    }
    kept.push({ role: 'assistant', content: output });
    this.keep(key, { model, messages: kept });
  }

  /** An exchange another replica recorded (within the same per-session bound). */
  put(workflow: string, session: string, entry: HistoryEntry): void {
    this.keep(sessionKey(workflow, session), entry);
  }

  /**
   * Replaces the session's entry, or drops it past the per-session bound: the entry's whole
   * estimated cost (a history of many empty messages costs their objects, not their text).
   */
  private keep(key: string, entry: HistoryEntry): void {
    this.entries.delete(key);
    if (historyBytes(key, entry) > this.maxSessionBytes) return;
    this.entries.set(key, entry);
  }

  get(workflow: string, session: string): HistoryEntry | undefined {
    return this.entries.peek(sessionKey(workflow, session));
  }

  drop(workflow: string, session: string): void {
    this.entries.delete(sessionKey(workflow, session));
  }

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.entries.bytes;
  }
}
