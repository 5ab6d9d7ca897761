// The simulated cluster's pools: the 8B pool, and the 14B pool when roles are moved to it.
import type { ClusterRunOptions, RetentionQuery, SimPool } from '../sim/cluster.js';
import { A100_QWEN_14B, H100_LLAMA_8B } from '../sim/profiles.js';
import type { RunnerOptions } from './options.js';

/** The model name the large pool serves (the plans' steps of the large roles ask for it). */
export const LARGE_MODEL = 'large';

export function simPoolsFor(
  options: Pick<RunnerOptions, 'replicas' | 'largeRoles' | 'largeReplicas'>,
): SimPool[] {
  return [
    { name: 'llama', models: ['llama'], replicas: options.replicas, profile: H100_LLAMA_8B },
    ...(options.largeRoles.length > 0
      ? [{ name: 'large', models: [LARGE_MODEL], replicas: options.largeReplicas, profile: A100_QWEN_14B }]
      : []),
  ];
}

/**
 * Engine extras from the flags, the same for every policy: a host-memory KV tier, and a fixed
 * retention TTL on every request whose context a later step reads (session or thread).
 */
export function engineExtras(
  options: Pick<RunnerOptions, 'hostKvTokens' | 'sessionKvTtlS'>,
): Pick<ClusterRunOptions, 'engine' | 'retention'> {
  const ttlMs = options.sessionKvTtlS * 1000;
  return {
    ...(options.hostKvTokens > 0 ? { engine: { hostKvCapacityTokens: options.hostKvTokens } } : {}),
    ...(ttlMs > 0
      ? {
          retention: (q: RetentionQuery) => ({
            key: q.thread === null ? q.session : `${q.session}/${q.thread}`,
            ttlMs: q.lastOfContext ? 0 : ttlMs,
          }),
        }
      : {}),
  };
}
