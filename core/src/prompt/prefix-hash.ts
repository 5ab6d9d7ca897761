// Chained hashes over fixed byte blocks of a prompt, with no tokenizer: block i's hash
// folds in block i-1's, so equal hashes at position i mean equal prompts up to the end of
// block i (up to collisions of a 53-bit hash). Only full blocks are hashed, as engines
// cache only full KV blocks.

/** cyrb53 over a string slice, seeded with the previous block's hash. */
function hashBlock(text: string, start: number, end: number, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ Math.floor(seed / 0x100000000);
  for (let i = start; i < end; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Hashes of each full `blockChars`-character block of `text`, chained; at most `maxBlocks`. */
export function chainedBlockHashes(text: string, blockChars: number, maxBlocks = 4096): number[] {
  const count = Math.min(maxBlocks, Math.floor(text.length / blockChars));
  const out = new Array<number>(count);
  let previous = 0;
  for (let i = 0; i < count; i++) {
    previous = hashBlock(text, i * blockChars, (i + 1) * blockChars, previous);
    out[i] = previous;
  }
  return out;
}

/** The text parts of a message's content (a string, or an array of parts with `text`). */
function pushContent(content: unknown, parts: string[]): void {
  if (typeof content === 'string') parts.push(content);
  else if (Array.isArray(content)) {
    for (const c of content) {
      if (typeof c === 'object' && c !== null && typeof (c as { text?: unknown }).text === 'string') {
        parts.push((c as { text: string }).text);
      }
    }
  }
}

/**
 * The prompt as the engine sees it, in order: for chat, each message's role and text
 * content; for completions, the prompt. Enough to tell shared prefixes apart, cheap to build.
 */
export function promptText(json: Record<string, unknown>): string {
  const messages = json['messages'];
  if (Array.isArray(messages)) {
    const parts: string[] = [];
    for (const m of messages) {
      if (typeof m !== 'object' || m === null) continue;
      const msg = m as { role?: unknown; content?: unknown };
      parts.push(typeof msg.role === 'string' ? msg.role : '');
      pushContent(msg.content, parts);
    }
    return parts.join('\u0000');
  }
  const prompt = json['prompt'];
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt))
    return prompt.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('\u0000');
  return '';
}

/** A 53-bit hash of a whole string (the block hash above, unchained). */
export function hashText(text: string, seed = 0): number {
  return hashBlock(text, 0, text.length, seed);
}

const INSTRUCTION_ROLES: ReadonlySet<string> = new Set(['system', 'developer']);

function chatMessages(json: Record<string, unknown>): { role: string; content: unknown }[] {
  const messages = json['messages'];
  if (!Array.isArray(messages)) return [];
  const out: { role: string; content: unknown }[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as { role?: unknown; content?: unknown };
    out.push({ role: typeof msg.role === 'string' ? msg.role : '', content: msg.content });
  }
  return out;
}

/** The instructions of a chat request: its system and developer messages' text, joined. */
export function instructionText(json: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const m of chatMessages(json)) if (INSTRUCTION_ROLES.has(m.role)) pushContent(m.content, parts);
  return parts.join('\n');
}

/**
 * Chained hashes of a chat request's conversation, one per message after leaving out the
 * system and developer messages: element k stands for the first k+1 conversation messages.
 * A request that extends an earlier one's conversation (whatever its instructions) has the
 * earlier request's last hash among its own. At most `maxMessages`.
 */
export function conversationPrefixHashes(json: Record<string, unknown>, maxMessages = 4096): number[] {
  const out: number[] = [];
  let previous = 0;
  for (const m of chatMessages(json)) {
    if (INSTRUCTION_ROLES.has(m.role)) continue;
    if (out.length >= maxMessages) break;
    const parts: string[] = [m.role];
    pushContent(m.content, parts);
    const text = parts.join('\u0000');
    previous = hashBlock(text, 0, text.length, previous);
    out.push(previous);
  }
  return out;
}
