// One policy run on the simulated cluster: the gateway config for the policy spec, the one
// call to runCluster, and the run's summary.
import { parseConfig } from '../../../common/src/config/load.js';
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { type ClusterRunOptions, type SimPool, runCluster } from '../sim/cluster.js';
import { FLOW_PRESETS, type PolicySpec, formatPolicySpec, leverOn } from './policy-spec.js';
import { type PolicySummary, measuredJcts, summarize, summarizeFlow } from './summary.js';

/** HPA's default scale-down stabilization window (KEDA scales through the HPA). */
export const HPA_SCALE_DOWN_WINDOW_S = 300;

export interface PolicyRun {
  readonly summary: PolicySummary;
  /** JCTs of the measured sessions (for the CDF chart). */
  readonly measured: number[];
  /** Replicas on per pool over time, when autoscaled. */
  readonly timeline: ReadonlyArray<{ t: number; pool: string; replicas: number }>;
  /** Figures printed beside the summary line (not in the report). */
  readonly figures: {
    readonly promptTokensPerRequest: number;
    /** What prefill chunks added to the busy GPU time over decoding alone. */
    readonly prefillShareOfBusyGpu: number;
    /** Prompt tokens loaded from the host KV tier. */
    readonly hostTokens: number;
    /** Requests flow control shed (429). */
    readonly shed: number;
    /** Requests flow control held. */
    readonly held: number;
    /** Events between ext-proc replicas per routed request, and their bytes. */
    readonly replicaEventsPerRequest: number;
    readonly replicaBytesPerRequest: number;
    /** Requests each ext-proc replica (gateway core) was handed. */
    readonly requestsPerExtProc: readonly number[];
  };
  /** When each request ended (virtual ms) and its output tokens. */
  readonly outputTimeline: ReadonlyArray<readonly [number, number]>;
}

export interface ClusterSetup {
  readonly simPools: readonly SimPool[];
  /** Engine extras for every policy alike (host KV tier, a fixed retention TTL). */
  readonly extras?: Pick<ClusterRunOptions, 'engine' | 'retention' | 'identity' | 'extProcReplicas'>;
  /** The 8B pool's replicas (the most it may have when autoscaled). */
  readonly replicas: number;
  readonly seed: number;
}

/**
 * A held request's TTL in the bench: simulated clients do not retry a 429, so a shed request
 * would drop its work and flatter the policy's JCT; every policy holds as long as it needs
 * (the default burst drains in ~450 s). The streams' idle reaper is moved past it to match.
 */
export const BENCH_QUEUE_TTL_S = 3000;

/**
 * `scheduler.flow_control` for the spec: off, on with its order (and any saturation thresholds
 * it gives, the others left to their defaults), or a peer's preset.
 */
export function flowControlConfig(spec: PolicySpec): Record<string, unknown> {
  if (!spec.flow) return { enabled: false };
  const preset = spec.preset ? FLOW_PRESETS[spec.preset].config : {};
  const sat = spec.saturation;
  const saturation = sat
    ? {
        saturation: {
          ...(sat.waitingRequests !== undefined ? { waiting_requests: sat.waitingRequests } : {}),
          ...(sat.kvUsage !== undefined ? { kv_usage: sat.kvUsage } : {}),
        },
      }
    : {};
  return { ...preset, ...saturation, enabled: true, policy: spec.flow, queue_ttl_s: BENCH_QUEUE_TTL_S };
}

export type Progress = (policy: string, done: number, total: number) => void;

export function runPolicy(
  spec: PolicySpec,
  plans: readonly SessionPlan[],
  { simPools, replicas, seed, extras }: ClusterSetup,
  progress: Progress | null = null,
): PolicyRun {
  const fullPolicy = formatPolicySpec(spec);
  const pythia = spec.routing === 'pythia';
  // Autoscaled: replicas started and stopped by the autoscaler core, on the forecast or on
  // the queue length alone (scale-down window from the spec, the HPA default when left out).
  const scaling = spec.scaling.mode === 'fixed' ? null : spec.scaling.mode;
  const reactiveWindowS =
    spec.scaling.mode === 'reactive' ? (spec.scaling.windowS ?? HPA_SCALE_DOWN_WINDOW_S) : null;
  const config = parseConfig({
    pools: simPools.map((p) => ({ name: p.name, models: p.models })),
    scheduler: {
      profile: spec.routing,
      reactive_profile: pythia ? 'least-request' : spec.routing,
      // A baseline places every request its own way; pythia's shadow workflows get the
      // cost model without predictions (the default).
      ...(pythia ? {} : { shadow_profile: spec.routing }),
      levers: {
        placement: leverOn(spec, 'placement'),
        priority: leverOn(spec, 'priority'),
        warming: leverOn(spec, 'warming'),
        retention: leverOn(spec, 'retention'),
      },
      flow_control: flowControlConfig(spec),
    },
    // The simulator completes a session at its end marker without waiting for stragglers.
    profiler: { end_grace_s: 0 },
    ...(spec.flow ? { ext_proc: { stream_idle_timeout_s: BENCH_QUEUE_TTL_S + 60 } } : {}),
    // The reactive scaler scales down after its window (HPA's default unless given).
    ...(reactiveWindowS !== null
      ? {
          autoscaler: {
            pools: Object.fromEntries(simPools.map((p) => [p.name, { scale_down_delay_s: reactiveWindowS }])),
          },
        }
      : {}),
  });
  const started = performance.now();
  const r = runCluster({
    config,
    pools: simPools,
    // The oracle bound's engines admit by its priority (the session's remaining work).
    priorityScheduling: leverOn(spec, 'priority') || spec.oracle === true,
    learn: pythia,
    plans,
    seed,
    ...extras,
    ...(spec.oracle ? { oracle: true } : {}),
    onProgress: (done: number, total: number) => progress?.(fullPolicy, done, total),
    ...(scaling
      ? {
          autoscale: {
            mode: scaling,
            initialReplicas: Math.max(1, Math.round(replicas / 4)),
          },
        }
      : {}),
  });
  const wallS = (performance.now() - started) / 1000;
  return {
    summary: {
      ...summarize(r, pythia, wallS),
      ...(spec.flow ? { flow_control: summarizeFlow(r) } : {}),
    },
    measured: measuredJcts(r),
    timeline: r.replicaTimeline,
    figures: {
      promptTokensPerRequest: Math.round(r.requestPromptTokens / Math.max(1, r.requests)),
      prefillShareOfBusyGpu: r.prefillGpuSeconds / Math.max(1e-9, r.busyGpuSeconds),
      hostTokens: r.hostTokens,
      shed: r.shed,
      held: r.held,
      replicaEventsPerRequest: (r.replicaEvents ?? 0) / Math.max(1, r.requests),
      replicaBytesPerRequest: (r.replicaEventBytes ?? 0) / Math.max(1, r.requests),
      requestsPerExtProc: r.requestsPerExtProc ?? [r.requests],
    },
    outputTimeline: r.outputTimeline,
  };
}
