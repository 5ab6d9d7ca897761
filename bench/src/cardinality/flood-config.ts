// The ext_proc configuration of the cardinality flood (the gRPC service and the in-process
// gateway alike), and the point at which all of its entry bounds are full.
import { parseConfig } from '../../../common/src/config/load.js';
import type { PythiaConfig } from '../../../common/src/config/schema.js';

/**
 * Default bounds, or (`bounds` N) every per-session table at N entries, the prefix index at
 * 2N blocks and the agent prompts at N/10, so that a smaller flood fills them all.
 */
export function floodConfig(bounds: number | null, extra: Record<string, unknown> = {}): PythiaConfig {
  return parseConfig({
    ...extra,
    ...(bounds === null ? {} : { ext_proc: { max_tracked_sessions: bounds } }),
    // No model servers listen at these addresses: no scraping. Warming on, so agent prompts
    // and session histories are learned too (no model is loaded, so nothing is predicted
    // and no warm request is sent); a profile that indexes prompt prefixes.
    scheduler: {
      scrape_interval_ms: 0,
      reactive_profile: 'prefix-aware',
      levers: { warming: true },
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

/** Sessions after which every entry-bounded table of ext_proc is full (names cycling beyond them). */
export function extProcFillAt(config: PythiaConfig): number {
  return Math.max(
    config.ext_proc.max_tracked_sessions,
    config.scheduler.prefix.max_blocks,
    config.scheduler.warming.max_prompts,
  );
}
