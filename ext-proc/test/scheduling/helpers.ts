import { type EndpointState, zeroLoad } from '../../../core/src/cluster/cluster-state.js';
import { PrefixIndex } from '../../src/core/routing/prefix-index.js';
import type { Candidate, SchedulingContext, SchedulingRequest } from '../../src/core/scheduling/types.js';
import { SessionAffinity } from '../../src/core/routing/session-affinity.js';

export function endpoint(address: string, patch: Partial<EndpointState> = {}): Candidate {
  return {
    endpoint: {
      address,
      pool: 'p',
      healthy: true,
      inFlight: 0,
      local: zeroLoad(),
      remote: zeroLoad(),
      waiting: 0,
      running: 0,
      kvUsage: 0,
      kvCapacityTokens: 100_000,
      speed: 1,
      failures: 0,
      ...patch,
    },
  };
}

export const request: SchedulingRequest = {
  model: 'm',
  identity: null,
  promptTokens: 100,
  maxTokens: null,
  prefixHashes: [],
  outputBound: null,
  outputExpected: null,
  overflow: 0.05,
  siblingsInFlight: 0,
};

/** A context with deterministic "random" values for tie-breaks and a fixed clock. */
export function sequence(
  ...values: number[]
): SchedulingContext & { prefixIndex: PrefixIndex; sessions: SessionAffinity } {
  let i = 0;
  return {
    random: () => values[i++ % values.length] ?? 0,
    nowMs: () => 1000,
    prefixIndex: new PrefixIndex({ maxBlocks: 10_000, maxBytes: 1 << 24, ttlMs: 60_000 }, () => 1000),
    sessions: new SessionAffinity({ maxEntries: 1000, maxBytes: 1 << 24, idleMs: 60_000 }, () => 1000),
    settings: { overflowThreshold: 2, defaultOutputTokens: 500 },
  };
}
