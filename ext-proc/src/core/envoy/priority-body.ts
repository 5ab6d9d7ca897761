// vLLM reads a request's scheduling priority from its body (`priority`, lower runs first,
// with --scheduling-policy priority), so for pools configured for it the body is rewritten.
// Only the routing decision's number goes in: a client's own `priority` is overridden. The
// same splice writes a session KV-retention hint as NVIDIA Dynamo's `nvext.session_control`
// for pools configured for it, unless the client sent its own `nvext` (left as it is).

/**
 * The body with top-level `fields` set (each value already JSON text), the client's bytes
 * otherwise as they were (never re-serialised: a body nested 100k deep would overflow the
 * stack). Fields without an existing top-level key are spliced in after the opening brace;
 * those with one are appended before the closing brace, and JSON parsers (Python's json,
 * pydantic, JSON.parse) keep the last of duplicate keys, so ours win.
 */
export function bodyWithFields(
  body: Buffer,
  json: Record<string, unknown>,
  fields: ReadonlyArray<readonly [string, string]>,
): Buffer {
  const text = (list: ReadonlyArray<readonly [string, string]>) =>
    list.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',');
  const replaced = fields.filter(([k]) => Object.hasOwn(json, k));
  const added = fields.filter(([k]) => !Object.hasOwn(json, k));
  let out = body;
  if (replaced.length > 0) {
    let close = out.length - 1;
    while (close >= 0 && out[close] !== 0x7d) close--; // the object's '}', past trailing whitespace
    if (close === -1) return body;
    out = Buffer.concat([out.subarray(0, close), Buffer.from(`,${text(replaced)}`), out.subarray(close)]);
  }
  if (added.length > 0) {
    const open = out.indexOf(0x7b); // '{'
    if (open === -1) return body;
    out = Buffer.concat([out.subarray(0, open + 1), Buffer.from(`${text(added)},`), out.subarray(open + 1)]);
  }
  return out;
}

/** The body with `priority` set (see bodyWithFields). */
export function bodyWithPriority(body: Buffer, json: Record<string, unknown>, priority: number): Buffer {
  return bodyWithFields(body, json, [['priority', String(priority)]]);
}

/**
 * Dynamo's session control for a retention hint: keep the session's KV `ttlMs` after this
 * request (`timeout` in seconds), or release it (`action: close`) when the TTL is 0.
 */
export function sessionControlJson(hint: { readonly key: string; readonly ttlMs: number }): string {
  const control =
    hint.ttlMs > 0
      ? { session_id: hint.key, timeout: Math.ceil(hint.ttlMs / 100) / 10 }
      : { session_id: hint.key, action: 'close' };
  return JSON.stringify({ session_control: control });
}
