// Builds the whole decision core of one gateway replica from configuration: the same
// wiring serves the ext_proc service, the bench's simulated clusters and the hot-path
// bench, so all measure the same code. Pure: I/O comes in through the options.
import type { PythiaConfig } from '../../../../common/src/config/schema.js';
import type { Clock } from '../../../../core/src/clock.js';
import { AgentPrompts } from './agent-prompts.js';
import { identitySettings } from '../../../../common/src/config/identity-schema.js';
import { IdentityResolver } from '../../../../core/src/identity/resolver.js';
import { ClusterState } from '../../../../core/src/cluster/cluster-state.js';
import { ModelRegistry } from '../../../../core/src/workflow/model-registry.js';
import { PrefixIndex } from './prefix-index.js';
import { type RouterEvents, type TraceSink, type WarmSender, WorkflowRouter } from './request-router.js';
import { BUILT_IN_PLUGINS, type PluginRegistry } from '../scheduling/registry.js';
import { Scheduler } from '../scheduling/scheduler.js';
import { SessionAffinity } from './session-affinity.js';
import { SessionHistory } from './session-history.js';
import { SessionTracker } from './session-tracker.js';
import { WarmPlanner } from './warm-planner.js';
import type { PreparedRoute } from './request-router.js';
import { FlowController, type FlowEvents, type FlowTimers } from '../flow-control/flow-controller.js';
import { FlowGate } from '../flow-control/flow-gate.js';
import { flowSettings } from '../flow-control/settings.js';
import { ReplicaView, type ReplicaSink, type ReplicaViewSettings } from './replica-view.js';
import { TieBreak } from '../scheduling/tie-break.js';

export interface GatewayCoreOptions {
  readonly clock: Clock;
  readonly random: () => number;
  /**
   * Seeds exact-tie draws together with each request's session (the same on every replica;
   * default 0). The bench passes its seed so that runs vary by seed as before.
   */
  readonly tieBreakSeed?: number;
  readonly traces?: TraceSink | null;
  readonly warmSender?: WarmSender | null;
  readonly events?: RouterEvents | null;
  /** Plugin types the profiles may use (default: the built-in ones). */
  readonly plugins?: PluginRegistry;
  /** Timers for flow control (required when scheduler.flow_control.enabled). */
  readonly timers?: FlowTimers;
  readonly flowEvents?: FlowEvents | null;
  /**
   * Several ext-proc replicas: this one's id and where its events go (the other replicas'
   * arrive through `GatewayCore.replicas.apply`). Absent: it decides alone.
   */
  readonly replica?: { readonly id: string; readonly sink: ReplicaSink };
}

export interface GatewayCore {
  readonly cluster: ClusterState;
  readonly scheduler: Scheduler;
  readonly router: WorkflowRouter;
  readonly sessions: SessionTracker;
  readonly affinity: SessionAffinity;
  readonly prefixIndex: PrefixIndex;
  readonly models: ModelRegistry;
  readonly prompts: AgentPrompts;
  readonly history: SessionHistory;
  readonly planner: WarmPlanner;
  /** Resolves each request's workflow identity (Pythia headers, native session headers, inference). */
  readonly identity: IdentityResolver;
  /** Flow control, when scheduler.flow_control.enabled: requests are admitted through it. */
  readonly flow: FlowGate | null;
  /** The other ext-proc replicas folded into this one's tables (null without `options.replica`). */
  readonly replicas: ReplicaView | null;
}

/** The replica view's bounds from configuration. */
export function replicaViewSettings(config: PythiaConfig): ReplicaViewSettings {
  const r = config.ext_proc.replicas;
  return {
    deadAfterMs: r.dead_after_ms,
    maxReplicas: r.max_replicas,
    maxInFlightPerReplica: r.max_in_flight_per_replica,
    requestMaxMs: config.ext_proc.stream_max_duration_s * 1000,
    maxRemoteInFlight: r.max_remote_in_flight,
    maxRemoteBytes: r.max_remote_bytes,
    maxIdentifierLength: config.identifiers.max_length,
    // A whole body's blocks (a prompt's hashes cannot outnumber them).
    maxReservationMs: config.scheduler.warming.reservation_s * 1000,
    maxPrefixHashes: Math.ceil(config.ext_proc.max_body_bytes / config.scheduler.prefix.block_bytes),
  };
}

export function createGatewayCore(config: PythiaConfig, options: GatewayCoreOptions): GatewayCore {
  const s = config.scheduler;
  const cluster = new ClusterState(config.pools);
  const now = () => options.clock.now();
  const prefixIndex = new PrefixIndex(
    { maxBlocks: s.prefix.max_blocks, maxBytes: s.prefix.budget_bytes, ttlMs: s.prefix.ttl_s * 1000 },
    now,
  );
  const e = config.ext_proc;
  const perSession = {
    maxEntries: e.max_tracked_sessions,
    maxBytes: e.session_budget_bytes,
    idleMs: e.session_idle_s * 1000,
  };
  const affinity = new SessionAffinity(perSession, now);
  const sessions = new SessionTracker(perSession, now);
  const models = new ModelRegistry();
  const w = s.warming;
  const prompts = new AgentPrompts(
    { maxEntries: w.max_prompts, maxBytes: w.prompt_budget_bytes, idleMs: w.prompt_idle_s * 1000 },
    w.max_prompt_bytes,
    now,
  );
  const history = new SessionHistory(
    { ...perSession, maxBytes: w.history_budget_bytes },
    w.max_history_bytes,
    now,
  );
  const plugins = options.plugins ?? BUILT_IN_PLUGINS;
  // A fresh instance per use: a picker's state (round robin) is never shared.
  const profile = (name: string) => plugins.build(name, s.profiles);
  const settings = { overflowThreshold: s.overflow_threshold, defaultOutputTokens: s.default_output_tokens };
  const tieBreak = new TieBreak(options.random, options.tieBreakSeed ?? 0);
  const scheduler = new Scheduler(
    cluster,
    profile(s.reactive_profile),
    {
      random: () => tieBreak.next(),
      nowMs: () => options.clock.now(),
      prefixIndex,
      sessions: affinity,
      settings,
    },
    { defaultPool: config.ext_proc.default_pool ?? null, fallbacks: 2, trace: false },
  );
  const planner = new WarmPlanner(
    {
      minProbability: s.warming.min_probability,
      maxPerEndpoint: s.warming.max_per_endpoint,
      maxPerSecond: s.warming.max_per_second,
      busyWaiting: s.warming.busy_waiting,
      reservationMs: s.warming.reservation_s * 1000,
      blockChars: s.prefix.block_bytes,
    },
    prompts,
    prefixIndex,
    affinity,
    (address) => cluster.endpoint(address),
  );
  const sink = options.replica?.sink;
  const identity = new IdentityResolver(
    identitySettings(config.identity, config.headers, config.identifiers.max_length),
    options.clock,
    // Identities inferred here reach the other replicas (numbered before the request's start).
    sink ? (share) => sink.emit({ kind: 'identity', ...share }) : null,
  );
  const parts = { cluster, scheduler, sessions, affinity, prefixIndex, models, prompts, history, planner };
  const router = new WorkflowRouter({
    ...parts,
    proactiveProfile: profile(s.profile),
    reactiveProfile: profile(s.reactive_profile),
    shadowProfile: profile(s.shadow_profile),
    traces: options.traces ?? null,
    warmSender: options.warmSender ?? null,
    events: options.events ?? null,
    replicas: options.replica?.sink ?? null,
    pendingRoles: identity,
    tieBreak,
    clock: options.clock,
    levers: s.levers,
    priority: {
      remainingWeight: s.priority.remaining_weight,
      unblockWeight: s.priority.unblock_weight,
      agingBoundMs: s.priority.aging_bound_s * 1000,
      sessionAgeCapMs: s.priority.session_age_cap_s * 1000,
    },
    retention: {
      minProbability: s.retention.min_probability,
      marginMs: s.retention.margin_s * 1000,
      maxTtlMs: s.retention.max_ttl_s * 1000,
    },
    scheduling: settings,
    prefixBlockChars: s.prefix.block_bytes,
    outputQuantile: config.profiler.output_quantile,
  });
  const flow = createFlowGate(config, options, router, cluster, models);
  const replicas = options.replica
    ? new ReplicaView(
        options.replica.id,
        { cluster, sessions, affinity, prefixIndex, prompts, history, planner, identity },
        replicaViewSettings(config),
      )
    : null;
  return { ...parts, router, identity, flow, replicas };
}

function createFlowGate(
  config: PythiaConfig,
  options: GatewayCoreOptions,
  router: WorkflowRouter,
  cluster: ClusterState,
  models: ModelRegistry,
): FlowGate | null {
  const settings = flowSettings(config);
  if (!settings.enabled) return null;
  if (!options.timers) throw new Error('flow control needs timers (GatewayCoreOptions.timers)');
  const e = config.ext_proc;
  const controller = new FlowController<PreparedRoute>(settings, {
    clock: options.clock,
    timers: options.timers,
    cluster,
    router,
    events: options.flowEvents ?? null,
    // Learned workflows only (bounded by the profiler's limits); the rest share one label.
    workflowLabel: (w) => (w === null ? 'none' : models.get(w) ? w : 'other'),
    sessionBounds: {
      maxEntries: e.max_tracked_sessions,
      maxBytes: e.session_budget_bytes,
      idleMs: e.session_idle_s * 1000,
    },
  });
  return new FlowGate(router, controller, config.scheduler.default_output_tokens);
}
