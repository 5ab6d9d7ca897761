// The session ids agent clients already send: Claude Code's `x-claude-code-session-id`,
// OpenCode's `x-session-affinity`, Codex's `session_id` / `session-id`, and whatever the
// configuration adds. A sub-agent's request may also name its parent's session; it then
// belongs to the parent's session (its role, from its own instructions, tells it apart).
import { fingerprintId } from './fingerprint.js';

export const DEFAULT_SESSION_HEADERS: readonly string[] = [
  'x-claude-code-session-id',
  'x-session-affinity',
  'session_id',
  'session-id',
];

export const DEFAULT_PARENT_HEADERS: readonly string[] = [
  'x-claude-code-parent-session-id',
  'x-parent-session-id',
  'parent_session_id',
  'parent-session-id',
];

export interface NativeSessionHeaders {
  /** Header names, lower case, in the order they are tried. */
  readonly session: readonly string[];
  readonly parent: readonly string[];
}

export interface NativeSession {
  /** A safe, bounded session id derived from the client's value. */
  readonly session: string;
  /** The value came from a parent-session header. */
  readonly fromParent: boolean;
}

function firstValue(headers: ReadonlyMap<string, string>, names: readonly string[]): string | null {
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (value) return value;
  }
  return null;
}

/**
 * The session a request's native headers name: the parent's when one is sent, else its
 * own; null without either. Client values are untrusted and of any length and charset, so
 * the id is their hash (`n-` and 8 base-36 characters), never the value itself.
 */
export function nativeSession(
  headers: ReadonlyMap<string, string>,
  names: NativeSessionHeaders,
): NativeSession | null {
  const parent = firstValue(headers, names.parent);
  if (parent !== null) return { session: `n-${fingerprintId(parent)}`, fromParent: true };
  const own = firstValue(headers, names.session);
  return own === null ? null : { session: `n-${fingerprintId(own)}`, fromParent: false };
}
