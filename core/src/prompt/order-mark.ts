// Causal order from the conversation itself. A chat request's history that holds an earlier
// request's last message followed by an assistant turn was sent after that request was
// answered: the earlier request has ended, whether or not its end was seen yet (another
// ext-proc replica's end event may still be on its way). Each request is marked by its last
// conversation message (its ordinal among the messages after the instructions, and a hash
// of its role, length and first MARK_CHARS code units); a later request proves the mark
// when one of its own messages at that ordinal or later has the same hash and is followed
// by an assistant message. Sharing the instructions or the conversation so far (fan-out
// siblings do) proves nothing: only an answer after the earlier request's own last message
// does. Cheap on the hot path: one short hash per request, and a later request hashes
// only messages that precede an assistant turn at or after a running request's ordinal,
// and only when its session has a marked request in flight.
import { hashText } from './prefix-hash.js';

/** A request's last conversation message, as a later request can recognise it. */
export interface OrderMark {
  /** Its ordinal among the conversation messages (instructions left out). */
  readonly index: number;
  readonly hash: number;
}

/** Code units of a message's text hashed into its mark (with the whole text's length). */
export const MARK_CHARS = 256;

/** Messages scanned per request at most (a longer conversation's tail proves nothing). */
export const MAX_MARK_MESSAGES = 4096;

const INSTRUCTION_ROLES: ReadonlySet<string> = new Set(['system', 'developer']);

interface Message {
  readonly role: string;
  readonly content: unknown;
}

/** The conversation messages (instructions left out), at most MAX_MARK_MESSAGES. */
function conversation(json: Record<string, unknown>): Message[] {
  const messages = json['messages'];
  const out: Message[] = [];
  if (!Array.isArray(messages)) return out;
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as { role?: unknown; content?: unknown };
    const role = typeof msg.role === 'string' ? msg.role : '';
    if (INSTRUCTION_ROLES.has(role)) continue;
    out.push({ role, content: msg.content });
    if (out.length >= MAX_MARK_MESSAGES) break;
  }
  return out;
}

/** Hash of a message's role, text length and first MARK_CHARS code units of its text. */
function markHash(m: Message): number {
  let text = '';
  let length = 0;
  const add = (part: string) => {
    length += part.length;
    if (text.length < MARK_CHARS) text += part.slice(0, MARK_CHARS - text.length);
  };
  if (typeof m.content === 'string') add(m.content);
  else if (Array.isArray(m.content))
    for (const c of m.content)
      if (typeof c === 'object' && c !== null && typeof (c as { text?: unknown }).text === 'string')
        add((c as { text: string }).text);
  return hashText(`${m.role}\u0000${text}`, length);
}

/** The request's mark: its last conversation message (null without one: completions, or only instructions). */
export function orderMark(json: Record<string, unknown>): OrderMark | null {
  const messages = conversation(json);
  const last = messages[messages.length - 1];
  return last ? { index: messages.length - 1, hash: markHash(last) } : null;
}

/**
 * A starting request's order (stages.ts StartOrder): its own mark, and what its history
 * proves answered: a message followed by an assistant message.
 * Lazy: the conversation is listed on first use, and only messages at or after a mark's
 * ordinal are hashed (each once), so a sibling handed the same conversation as a running
 * request hashes at most its own last messages.
 */
export class AnsweredMarks {
  private messages: Message[] | null = null;
  private hashes: Map<number, number> | null = null;
  /** The request's own mark. */
  readonly mark: OrderMark | null;
  /** The marks of running requests it proved ended (filled by the stage tracker). */
  readonly proved: OrderMark[] = [];

  constructor(private readonly json: Record<string, unknown>) {
    this.mark = orderMark(json);
  }

  /** Whether the history answers `mark`: its message at that ordinal or later, then an assistant turn. */
  proves(mark: OrderMark): boolean {
    const messages = (this.messages ??= conversation(this.json));
    for (let i = Math.max(0, mark.index); i + 1 < messages.length; i++) {
      if ((messages[i + 1] as Message).role !== 'assistant') continue;
      const hashes = (this.hashes ??= new Map());
      let hash = hashes.get(i);
      if (hash === undefined) {
        hash = markHash(messages[i] as Message);
        hashes.set(i, hash);
      }
      if (hash === mark.hash) return true;
    }
    return false;
  }
}
