// Builds the whole decision core of one gateway replica from configuration: the same
// wiring serves the ext_proc service, the bench's simulated clusters and the hot-path
// bench, so all measure the same code. Pure: I/O comes in through the options.
import type { PythiaConfig } from '../../../../common/src/config/schema.js';
import type { Clock } from '../../../../core/src/clock.js';
import { AgentPrompts } from './agent-prompts.js';
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

export interface GatewayCoreOptions {
  readonly clock: Clock;
  readonly random: () => number;
  readonly traces?: TraceSink | null;
  readonly warmSender?: WarmSender | null;
  readonly events?: RouterEvents | null;
  /** Plugin types the profiles may use (default: the built-in ones). */
  readonly plugins?: PluginRegistry;
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
}

export function createGatewayCore(config: PythiaConfig, options: GatewayCoreOptions): GatewayCore {
  const s = config.scheduler;
  const cluster = new ClusterState(config.pools);
  const prefixIndex = new PrefixIndex(s.prefix.max_blocks, s.prefix.ttl_s * 1000);
  const affinity = new SessionAffinity(config.ext_proc.max_tracked_sessions);
  const sessions = new SessionTracker(
    config.ext_proc.max_tracked_sessions,
    config.ext_proc.session_idle_s * 1000,
  );
  const models = new ModelRegistry();
  const prompts = new AgentPrompts(s.warming.prompt_budget_bytes, s.warming.max_prompt_bytes);
  const history = new SessionHistory(s.warming.history_budget_bytes, s.warming.max_history_bytes);
  const plugins = options.plugins ?? BUILT_IN_PLUGINS;
  // A fresh instance per use: a picker's state (round robin) is never shared.
  const profile = (name: string) => plugins.build(name, s.profiles);
  const settings = { overflowThreshold: s.overflow_threshold, defaultOutputTokens: s.default_output_tokens };
  const scheduler = new Scheduler(
    cluster,
    profile(s.reactive_profile),
    { random: options.random, nowMs: () => options.clock.now(), prefixIndex, sessions: affinity, settings },
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
  const router = new WorkflowRouter({
    cluster,
    scheduler,
    proactiveProfile: profile(s.profile),
    reactiveProfile: profile(s.reactive_profile),
    sessions,
    affinity,
    prefixIndex,
    models,
    prompts,
    history,
    planner,
    traces: options.traces ?? null,
    warmSender: options.warmSender ?? null,
    events: options.events ?? null,
    clock: options.clock,
    levers: s.levers,
    priority: {
      remainingWeight: s.priority.remaining_weight,
      unblockWeight: s.priority.unblock_weight,
      agingBoundMs: s.priority.aging_bound_s * 1000,
    },
    scheduling: settings,
    prefixBlockChars: s.prefix.block_bytes,
    outputQuantile: config.profiler.output_quantile,
  });
  return { cluster, scheduler, router, sessions, affinity, prefixIndex, models, prompts, history, planner };
}
