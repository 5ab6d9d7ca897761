// The ext_proc configuration of the cardinality flood (the gRPC service and the in-process
// gateway alike), and the point at which all of its entry bounds are full.
import { parseConfig } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';

/**
 * Default bounds, or (`bounds` N) every per-session table at N entries, the prefix index at
 * 2N blocks and the agent prompts at N/10, so that a smaller flood fills them all.
 */
export function floodConfig(
  bounds: number | null,
  extra: Record<string, unknown> = {},
  /** Flow control on, with fairness between tenants (the in-process gateway part). */
  flow = false,
): PythiaConfig {
  return parseConfig({
    ...extra,
    ...(bounds === null
      ? {}
      : {
          ext_proc: {
            max_tracked_sessions: bounds,
            replicas: { max_remote_in_flight: bounds, max_in_flight_per_replica: bounds },
          },
        }),
    // No model servers listen at these addresses: no scraping. Warming on, so agent prompts
    // and session histories are learned too (no model is loaded, so nothing is predicted
    // and no warm request is sent); a profile that indexes prompt prefixes.
    scheduler: {
      scrape_interval_ms: 0,
      reactive_profile: 'prefix-aware',
      levers: { warming: true },
      ...(flow ? { flow_control: { enabled: true, fairness: { enabled: true, key: 'tenant' } } } : {}),
      ...(bounds === null
        ? {}
        : {
            prefix: { max_blocks: 2 * bounds },
            warming: { max_prompts: Math.max(1, Math.floor(bounds / 10)) },
          }),
    },
    pools: [
      {
        name: 'pool-a',
        models: ['bench-model'],
        endpoints: Array.from({ length: 8 }, (_, i) => ({ address: `127.0.0.${i + 1}:8000` })),
      },
    ],
  });
}

/**
 * Sessions after which every entry-bounded table of ext_proc is full (names cycling beyond
 * them); with `remoteEveryOther`, the replica view's too (every other remote request of the
 * gateway flood never ends, so its in-flight table fills at twice its bound).
 */
export function extProcFillAt(config: PythiaConfig, remoteEveryOther = false): number {
  const r = config.ext_proc.replicas;
  return Math.max(
    config.ext_proc.max_tracked_sessions,
    config.scheduler.prefix.max_blocks,
    config.scheduler.warming.max_prompts,
    remoteEveryOther ? 2 * Math.min(r.max_remote_in_flight, 3 * r.max_in_flight_per_replica) : 0,
  );
}
