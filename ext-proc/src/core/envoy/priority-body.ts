// vLLM reads a request's scheduling priority from its body (`priority`, lower runs first,
// with --scheduling-policy priority), so for pools configured for it the body is rewritten.
// Only the routing decision's number goes in: a client's own `priority` is overridden.

/**
 * The body with `priority` set, the client's bytes otherwise as they were (never
 * re-serialised: a body nested 100k deep would overflow the stack). Without an existing
 * top-level key the field is spliced in after the opening brace; with one, ours is appended
 * before the closing brace, and JSON parsers (Python's json, pydantic, JSON.parse) keep the
 * last of duplicate keys, so ours wins.
 */
export function bodyWithPriority(body: Buffer, json: Record<string, unknown>, priority: number): Buffer {
  if (Object.hasOwn(json, 'priority')) {
    let close = body.length - 1;
    while (close >= 0 && body[close] !== 0x7d) close--; // the object's '}', past trailing whitespace
    if (close === -1) return body;
    return Buffer.concat([
      body.subarray(0, close),
      Buffer.from(`,"priority":${priority}`),
      body.subarray(close),
    ]);
  }
  const open = body.indexOf(0x7b); // '{'
  if (open === -1) return body;
  return Buffer.concat([
    body.subarray(0, open + 1),
    Buffer.from(`"priority":${priority},`),
    body.subarray(open + 1),
  ]);
}
