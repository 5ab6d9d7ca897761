// Flow control's settings as the core reads them (config: scheduler.flow_control).
import type { PythiaConfig } from '../../../../common/src/config/schema.js';

/** How held requests are ordered for release (see ordering.ts). */
export type FlowPolicy = 'fcfs' | 'oldest-session-first' | 'workflow-aware' | 'wspt';
export const FLOW_POLICIES: readonly FlowPolicy[] = [
  'fcfs',
  'oldest-session-first',
  'workflow-aware',
  'wspt',
];

/** What a flow (the unit of fairness) is keyed by. */
export type FairnessKey = 'tenant' | 'workflow' | 'tenant-workflow';

export interface SaturationSettings {
  /** An endpoint with at least this many requests waiting (scraped, adjusted) is saturated. */
  readonly waiting: number;
  /** An endpoint at or above this KV-cache use (scraped, adjusted) is saturated. */
  readonly kvUsage: number;
  /** Adjust the scraped figures by what this gateway dispatched and saw end since the scrape. */
  readonly countReservations: boolean;
}

export interface FairnessSettings {
  readonly enabled: boolean;
  readonly key: FairnessKey;
  /** Weight per flow name (tenant, workflow or `tenant/workflow`); others weigh 1. */
  readonly weights: ReadonlyMap<string, number>;
  /** Flows held at once per pool; further flows not in `weights` share one (OVERFLOW_FLOW). */
  readonly maxFlows: number;
}

export interface FlowSettings {
  readonly enabled: boolean;
  readonly policy: FlowPolicy;
  /** How far urgency moves a held request up under workflow-aware (the priority aging bound). */
  readonly agingBoundMs: number;
  /** A session's requests are aged from its start, at most this before their arrival (0: their arrival). */
  readonly sessionAgeCapMs: number;
  readonly saturation: SaturationSettings;
  /** Held requests per pool at most; past it a request is shed (429). */
  readonly maxQueued: number;
  /** Request-body bytes held per pool at most. */
  readonly maxQueuedBytes: number;
  /** A request held this long is shed (429): no held request waits forever. */
  readonly ttlMs: number;
  /** The retry-after (seconds) a shed request is answered with. */
  readonly retryAfterS: number;
  /** good: to the preferred endpoint or an equally good one; any: the scheduler's choice among all. */
  readonly release: 'good-endpoint' | 'any-endpoint';
  /** Endpoints scoring within this share of the profile's total weight of the best are equally good. */
  readonly scoreTolerance: number;
  /** After this long held, the best-scored unsaturated endpoint is good enough. */
  readonly preferHoldMs: number;
  /** Held requests examined per release pass at most (bounds the work per event). */
  readonly maxScan: number;
  readonly fairness: FairnessSettings;
}

export const FLOW_OFF: FlowSettings = {
  enabled: false,
  policy: 'fcfs',
  agingBoundMs: 0,
  sessionAgeCapMs: 600_000,
  saturation: { waiting: 1, kvUsage: 0.9, countReservations: true },
  maxQueued: 1000,
  maxQueuedBytes: 64 * 1024 * 1024,
  ttlMs: 60_000,
  retryAfterS: 2,
  release: 'good-endpoint',
  scoreTolerance: 0.05,
  preferHoldMs: 5000,
  maxScan: 64,
  fairness: { enabled: false, key: 'tenant', weights: new Map(), maxFlows: 256 },
};

/** The core's settings from `scheduler.flow_control` (aging from `scheduler.priority.aging_bound_s`). */
export function flowSettings(config: PythiaConfig): FlowSettings {
  const f = config.scheduler.flow_control;
  return {
    enabled: f.enabled,
    policy: f.policy,
    agingBoundMs: config.scheduler.priority.aging_bound_s * 1000,
    sessionAgeCapMs: config.scheduler.priority.session_age_cap_s * 1000,
    saturation: {
      waiting: f.saturation.waiting_requests,
      kvUsage: f.saturation.kv_usage,
      countReservations: f.saturation.count_reservations,
    },
    maxQueued: f.max_queued_requests,
    maxQueuedBytes: f.max_queued_bytes,
    ttlMs: f.queue_ttl_s * 1000,
    retryAfterS: f.retry_after_s,
    release: f.release,
    scoreTolerance: f.score_tolerance,
    preferHoldMs: f.prefer_hold_s * 1000,
    maxScan: f.max_scan,
    fairness: {
      enabled: f.fairness.enabled,
      key: f.fairness.key,
      weights: new Map(Object.entries(f.fairness.weights)),
      maxFlows: f.fairness.max_flows,
    },
  };
}
