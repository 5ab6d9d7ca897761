// The agent role of a request, read from its instructions (system prompt): the text is
// normalised (run-specific pieces masked, whitespace collapsed, case kept) and hashed into a
// short id. Only the id leaves this module: the text is never stored or logged.
import { hashText } from '../prompt/prefix-hash.js';

/**
 * Pieces of an agent's instructions that change from run to run while the role stays the
 * same. Applied before the configured ones.
 */
export const BUILT_IN_MASKS: readonly string[] = [
  // UUIDs (session, run and request ids)
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
  // ISO dates and times: 2026-12-02, 2026-12-02T17:36:09.123Z, 17:36:09
  '\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?',
  '\\b\\d{1,2}:\\d{2}(?::\\d{2})?\\b',
  // written dates: "December 2, 2026", "2 Dec 2026", "12/02/2026"
  '\\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.? \\d{1,2},? \\d{4}\\b',
  '\\b\\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.? \\d{4}\\b',
  '\\b\\d{1,2}/\\d{1,2}/\\d{2,4}\\b',
  // long hex runs (commit hashes, trace and run ids) and long digit runs (timestamps)
  '\\b[0-9a-fA-F]{12,}\\b',
  '\\b\\d{6,}\\b',
];

export interface Normaliser {
  (text: string): string;
}

/** Compiles the masks (built-in first, then `extra`); throws on an invalid pattern. */
export function createNormaliser(extra: readonly string[] = []): Normaliser {
  // The built-in masks in one pass (leftmost match, alternatives in order); configured ones
  // each on their own, so their groups and backreferences keep their numbers.
  const builtIn = new RegExp(BUILT_IN_MASKS.map((p) => `(?:${p})`).join('|'), 'g');
  const masks = [builtIn, ...extra.map((p) => new RegExp(p, 'g'))];
  return (text) => {
    let out = text;
    for (const mask of masks) out = out.replace(mask, '\u2200');
    return out.replace(/\s+/g, ' ').trim();
  };
}

/** Eight base-36 characters (41 bits) of the normalised text's hash. */
export function fingerprintId(normalised: string): string {
  return Math.floor(hashText(normalised) / 4096)
    .toString(36)
    .padStart(8, '0')
    .slice(-8);
}
