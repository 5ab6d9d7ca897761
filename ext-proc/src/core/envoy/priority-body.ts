// vLLM reads a request's scheduling priority from its body (`priority`, lower runs first,
// with --scheduling-policy priority), so for pools configured for it the body is rewritten.
// Only the routing decision's number goes in: a client's own `priority` is overwritten.

/**
 * The body with `priority` set. Without an existing top-level key the field is spliced in
 * after the opening brace, leaving the client's bytes as they were; otherwise the body is
 * re-serialised so ours wins (JSON parsers keep the last duplicate key).
 */
export function bodyWithPriority(body: Buffer, json: Record<string, unknown>, priority: number): Buffer {
  if (Object.hasOwn(json, 'priority')) return Buffer.from(JSON.stringify({ ...json, priority }));
  const open = body.indexOf(0x7b); // '{'
  if (open === -1) return body;
  return Buffer.concat([
    body.subarray(0, open + 1),
    Buffer.from(`"priority":${priority},`),
    body.subarray(open + 1),
  ]);
}
