// Chained hashes over fixed blocks of a prompt's characters (UTF-16 code units), with no
// tokenizer: block i's hash folds in block i-1's, so equal hashes at position i mean equal
// prompts up to the end of block i (up to collisions of a 53-bit hash). Only full blocks
// are hashed, as engines cache only full KV blocks. The values depend only on the text, so
// every process (ext-proc replicas sharing their prefix index, the bench's simulated
// engines) computes the same ones. Identity keys (hashText, conversationPrefixHashes) keep
// their own per-character hash below: the role ids derived from them must not change.
import { hashBytes } from './byte-hash.js';
import { CodeUnitWriter } from './code-unit-writer.js';

/** cyrb53 over a string slice, seeded with the previous hash (identity keys only). */
function hashChars(text: string, start: number, end: number, seed: number): number {
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

/** The chained hashes of the full blocks the writer holds (at most `maxBlocks`). */
function chainBlocks(writer: CodeUnitWriter, blockChars: number, maxBlocks: number): number[] {
  const blockBytes = blockChars * 2;
  const count = Math.min(maxBlocks, Math.floor(writer.length / blockBytes));
  const out = new Array<number>(count);
  const { bytes, words } = writer;
  let previous = 0;
  for (let i = 0; i < count; i++) {
    previous = hashBytes(bytes, i * blockBytes, (i + 1) * blockBytes, previous, words);
    out[i] = previous;
  }
  return out;
}

/**
 * Hashes of each full `blockChars`-character block of `text`, chained; at most `maxBlocks`.
 * A block's hash is hashBytes over its code units as little-endian bytes.
 */
export function chainedBlockHashes(text: string, blockChars: number, maxBlocks = 4096): number[] {
  const writer = new CodeUnitWriter(maxBlocks * blockChars);
  writer.write(text);
  return chainBlocks(writer, blockChars, maxBlocks);
}

/**
 * chainedBlockHashes(promptText(json), ...) without building the prompt string: each part
 * is copied straight into the hashed buffer (the same code units, so the same hashes).
 */
export function promptBlockHashes(
  json: Record<string, unknown>,
  blockChars: number,
  maxBlocks = 4096,
): number[] {
  const writer = new CodeUnitWriter(maxBlocks * blockChars);
  let first = true;
  forEachPromptPart(json, (part) => {
    if (!first) writer.writeUnit(0);
    first = false;
    writer.write(part);
  });
  return chainBlocks(writer, blockChars, maxBlocks);
}

/** The text parts of a message's content (a string, or an array of parts with `text`). */
function forEachContentPart(content: unknown, visit: (part: string) => void): void {
  if (typeof content === 'string') visit(content);
  else if (Array.isArray(content)) {
    for (const c of content) {
      if (typeof c === 'object' && c !== null && typeof (c as { text?: unknown }).text === 'string') {
        visit((c as { text: string }).text);
      }
    }
  }
}

function pushContent(content: unknown, parts: string[]): void {
  forEachContentPart(content, (part) => parts.push(part));
}

/**
 * The parts of the prompt as the engine sees it, in order: for chat, each message's role
 * and text content; for completions, the prompt (each element of a prompt list).
 */
function forEachPromptPart(json: Record<string, unknown>, visit: (part: string) => void): void {
  const messages = json['messages'];
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (typeof m !== 'object' || m === null) continue;
      const msg = m as { role?: unknown; content?: unknown };
      visit(typeof msg.role === 'string' ? msg.role : '');
      forEachContentPart(msg.content, visit);
    }
    return;
  }
  const prompt = json['prompt'];
  if (typeof prompt === 'string') visit(prompt);
  else if (Array.isArray(prompt))
    for (const p of prompt) visit(typeof p === 'string' ? p : JSON.stringify(p));
}

/** The prompt's parts joined by NUL: enough to tell shared prefixes apart, cheap to build. */
export function promptText(json: Record<string, unknown>): string {
  const parts: string[] = [];
  forEachPromptPart(json, (part) => parts.push(part));
  return parts.join('\u0000');
}

/** A 53-bit hash of a whole string (per character; identity keys). */
export function hashText(text: string, seed = 0): number {
  return hashChars(text, 0, text.length, seed);
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
    previous = hashChars(text, 0, text.length, previous);
    out.push(previous);
  }
  return out;
}
