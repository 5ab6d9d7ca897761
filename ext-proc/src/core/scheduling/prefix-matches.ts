// The one prefix-index lookup the prefix-aware plugins share.
import type { Candidate, SchedulingContext, SchedulingRequest } from './types.js';

/**
 * Leading prompt blocks each candidate is believed to hold, by address (empty without prompt
 * hashes). `computedOnly`: count only blocks a finished request computed, not those a request
 * in flight was just placed with.
 */
export function prefixMatches(
  request: SchedulingRequest,
  candidates: readonly Candidate[],
  ctx: SchedulingContext,
  computedOnly = false,
): Map<string, number> {
  if (request.prefixHashes.length === 0) return new Map();
  return ctx.prefixIndex.matchLengths(
    request.prefixHashes,
    candidates.map((c) => c.endpoint.address),
    ctx.nowMs(),
    computedOnly,
  );
}
