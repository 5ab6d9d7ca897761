// A simulated GPU cluster in virtual time, routed by the real gateway core exactly as
// ext-proc routes (createGatewayCore, router.route / router.complete), with predictions from
// the real profiler core fed by the completed traces (shadow first, then promotion), warm
// requests and priorities applied to the simulated engines. Deterministic for a seed.
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { PRIORITY_HEADER } from '../../../ext-proc/src/core/envoy/header-contract.js';
import { NEUTRAL_PRIORITY } from '../../../ext-proc/src/core/routing/priority.js';
import type {
  CompletedRequest,
  RoutedRequest,
  RouteInput,
} from '../../../ext-proc/src/core/envoy/stream-processor.js';
import type { WarmOutcome } from '../../../ext-proc/src/core/routing/warm-planner.js';
import { ProfilerCore, type ProfilerCoreConfig } from '../../../profiler/src/core/profiler-core.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import { ActiveSessions } from '../../../autoscaler/src/core/active-sessions.js';
import { emptyForecast, forecast, forecastSettings } from '../../../autoscaler/src/core/forecast.js';
import {
  type PoolCapacity,
  type ScaleState,
  poolLive,
  replicaTarget,
} from '../../../autoscaler/src/core/replica-target.js';
import type { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { seededRandom } from '../../../test-support/src/workloads/rng.js';
import {
  SessionHistory,
  type SessionPlan,
  type StepPlan,
  stagesOf,
} from '../../../test-support/src/workloads/session-plan.js';
import { type EngineOptions, ReplicaEngine, type RetentionHint, type StepOutcome } from './engine.js';
import { EventQueue } from './event-queue.js';
import { type ReplicaProfile, relativeDecodeSpeed } from './profiles.js';
import { blockHashes, type Run, runText, textRuns } from './token-streams.js';

export interface SimPool {
  readonly name: string;
  readonly models: readonly string[];
  readonly replicas: number;
  readonly profile: ReplicaProfile;
}

/** What a retention policy knows of a request when it is sent (see ClusterRunOptions.retention). */
export interface RetentionQuery {
  readonly session: string;
  readonly agent: string;
  readonly thread: string | null;
  /** No later step of the session reads this step's context (its session or thread ends). */
  readonly lastOfContext: boolean;
  readonly routed: RoutedRequest;
}

export interface ClusterRunOptions {
  /** Gateway configuration (scheduler section, levers); pools come from `pools`. */
  readonly config: PythiaConfig;
  readonly pools: readonly SimPool[];
  /** Engines schedule by priority (vLLM --scheduling-policy priority) when true. */
  readonly priorityScheduling: boolean;
  /** Run the profiler (predictions, promotion) in the loop. */
  readonly learn: boolean;
  readonly profiler: ProfilerCoreConfig;
  readonly plans: readonly SessionPlan[];
  readonly seed: number;
  readonly scrapeIntervalMs: number;
  readonly rebuildIntervalMs: number;
  /** Optional progress callback (sessions done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Autoscaling in the loop: replicas start (after the profile's model load time) and stop
   * on the decisions of the real autoscaler core: `forecast` (Pythia: projected sessions
   * plus the queue) or `reactive` (the queue alone, as KEDA/production-stack scale).
   * `pools[].replicas` is then the most replicas a pool may have.
   */
  readonly autoscale?: {
    readonly mode: 'forecast' | 'reactive';
    readonly initialReplicas: number;
    readonly intervalMs: number;
    readonly capacity: PoolCapacity;
    readonly requestsPerReplica: number;
  };
  // --- Engine extras, applied to every replica and every policy alike (off when absent). ---
  /** Engine options for every replica (e.g. a host-memory KV tier). */
  readonly engine?: EngineOptions;
  /**
   * The session KV-retention hint each request carries (as SGLang sessions / Dynamo's
   * `nvext.session_control` or Continuum's TTL let a client or router set it); null or absent:
   * none, and the engine behaves exactly as without retention.
   */
  readonly retention?: (query: RetentionQuery) => RetentionHint | null;
}

export interface ClusterRunResult {
  readonly jctS: number[];
  readonly ttftS: number[];
  /** Session of each JCT, same order (to leave warm-up sessions out). */
  readonly jctSessions: string[];
  readonly outputTokens: number;
  readonly makespanS: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly preemptions: number;
  readonly gpuSeconds: number;
  readonly warmRequests: number;
  readonly warmHits: number;
  /** GPU time stepping, and the part the prefill chunks added over decoding alone. */
  readonly busyGpuSeconds: number;
  readonly prefillGpuSeconds: number;
  /** Prompt tokens loaded from the host KV tier (part of cachedTokens). */
  readonly hostTokens: number;
  /** Prompt tokens of the workload's requests (warm requests left out). */
  readonly requestPromptTokens: number;
  /** Cache-manager decisions by result (sent, or why skipped). */
  readonly warmOutcomes: Readonly<Record<string, number>>;
  readonly sessionsCompleted: number;
  readonly requests: number;
  /** Live scores of the learned models after promotion (null without learning). */
  readonly nextAgentAccuracy: number | null;
  readonly outputBoundCoverage: number | null;
  readonly promotedAtS: number | null;
  /** Replicas on (starting, ready or draining) per pool over time, when autoscaling. */
  readonly replicaTimeline: ReadonlyArray<{
    readonly t: number;
    readonly pool: string;
    readonly replicas: number;
  }>;
}

interface Replica {
  readonly address: string;
  readonly pool: string;
  readonly engine: ReplicaEngine;
  stepping: boolean;
  /** Lifecycle under autoscaling: stopped -> starting (model load) -> ready -> draining -> stopped. */
  state: 'stopped' | 'starting' | 'ready' | 'draining';
  /** When this replica last started (for GPU-seconds). */
  onSinceMs: number;
  gpuMs: number;
}

const EPOCH_MS = 1_790_000_000_000;

export function runCluster(options: ClusterRunOptions): ClusterRunResult {
  const queue = new EventQueue();
  const replicas: Replica[] = [];
  const byAddress = new Map<string, Replica>();
  let port = 20000;
  const poolSpecs = options.pools.map((pool) => {
    const endpoints: Array<{ address: string }> = [];
    for (let i = 0; i < pool.replicas; i++) {
      const address = `127.0.0.1:${port++}`;
      const replica: Replica = {
        address,
        pool: pool.name,
        engine: new ReplicaEngine(
          pool.profile,
          options.priorityScheduling ? 'priority' : 'fcfs',
          options.engine,
        ),
        stepping: false,
        state: 'ready',
        onSinceMs: 0,
        gpuMs: 0,
      };
      replicas.push(replica);
      byAddress.set(address, replica);
      endpoints.push({ address });
    }
    return {
      name: pool.name,
      models: [...pool.models],
      endpoints,
      kv_capacity_tokens: pool.profile.kvCapacityTokens,
      speed: relativeDecodeSpeed(pool.profile),
      priority_field: options.priorityScheduling,
      metrics_path: '/metrics',
    };
  });
  const config: PythiaConfig = { ...options.config, pools: poolSpecs };

  // Completion callbacks per simulated request id.
  const pending = new Map<
    string,
    { onFirst: (ms: number) => void; onDone: (ms: number, cached: number) => void }
  >();
  let warmRequests = 0;
  const warmOutcomes: Record<string, number> = {};
  let warmHits = 0;
  let warmSeq = 0;
  const clock = { now: () => queue.now, wallNow: () => EPOCH_MS + queue.now };
  const core = createGatewayCore(config, {
    clock,
    // What ext-proc publishes over NATS, delivered in-process at the same moments.
    traces: {
      publish: (trace) => {
        profiler?.ingest(trace, null, queue.now);
        tracesListener?.(trace);
      },
      started: (start) => startsListener?.(start),
    },
    random: seededRandom(options.seed),
    events: {
      warm: (o: WarmOutcome) => {
        if (o.kind === 'warm') warmRequests++;
        const reason = o.kind === 'warm' ? 'sent' : o.reason;
        warmOutcomes[reason] = (warmOutcomes[reason] ?? 0) + 1;
      },
      reservation: (hit) => {
        if (hit) warmHits++;
      },
    },
    warmSender: {
      send: (plan) => {
        const replica = byAddress.get(plan.endpoint);
        if (!replica) {
          core.planner.done(plan.endpoint);
          return;
        }
        // The messages are runText() pieces (system prompt, then history): recover the runs.
        const runs: Run[] = plan.messages.flatMap((m) => textRuns(m.content));
        const id = `warm-${warmSeq++}`;
        const blocks = blockHashes(runs, replica.engine.profile.blockSize);
        pending.set(id, { onFirst: () => {}, onDone: () => core.planner.done(plan.endpoint) });
        submit(replica, {
          id,
          promptBlocks: blocks,
          fullBlocks: blocks,
          promptTokens: runs[0]?.tokens ?? 1,
          outputTokens: 1,
          priority: plan.priority ?? NEUTRAL_PRIORITY,
          arrivalMs: queue.now,
        });
      },
    },
  });
  const profiler = options.learn ? new ProfilerCore<null>(options.profiler) : null;
  let tracesListener: ((trace: Trace) => void) | null = null;
  let startsListener: ((start: RequestStart) => void) | null = null;
  let promotedAtS: number | null = null;

  function submit(replica: Replica, req: Parameters<ReplicaEngine['submit']>[0]): void {
    replica.engine.submit(req);
    if (!replica.stepping) {
      replica.stepping = true;
      queue.schedule(queue.now, () => step(replica));
    }
  }

  function step(replica: Replica): void {
    const outcome: StepOutcome | null = replica.engine.step(queue.now);
    if (!outcome) {
      replica.stepping = false;
      return;
    }
    const end = queue.now + outcome.durationMs;
    queue.schedule(end, () => {
      for (const f of outcome.firstTokens) pending.get(f.id)?.onFirst(end);
      for (const r of outcome.finished) {
        const p = pending.get(r.id);
        pending.delete(r.id);
        p?.onDone(end, r.cachedTokens);
      }
      step(replica);
    });
  }

  // The scraper's view, as the real one would read /metrics.
  const scrape = () => {
    for (const r of replicas) {
      const ep = core.cluster.endpoint(r.address);
      if (!ep) continue;
      ep.waiting = r.engine.numWaiting;
      ep.running = r.engine.numRunning;
      r.engine.expire(queue.now);
      ep.kvUsage = r.engine.kvUsage;
      ep.healthy = r.state === 'ready';
    }
  };
  const refreshModels = () => {
    if (!profiler) return;
    profiler.completeDue(queue.now);
    for (const rebuilt of profiler.rebuildDirty(EPOCH_MS + queue.now)) {
      core.models.set(rebuilt.model);
      if (rebuilt.model.mode === 'proactive' && promotedAtS === null) promotedAtS = queue.now / 1000;
    }
  };

  const jct: number[] = [];
  const jctSessions: string[] = [];
  const ttft: number[] = [];
  let outputTokens = 0;
  let requests = 0;
  let requestPromptTokens = 0;
  let sessionsDone = 0;
  let lastEnd = 0;
  let requestSeq = 0;

  function startSession(plan: SessionPlan): void {
    const arrival = queue.now;
    const stages = stagesOf(plan);
    const history = new SessionHistory<Run>();
    const runStage = (index: number) => {
      const steps = stages[index] as StepPlan[];
      let remaining = steps.length;
      let maxAfter = 0;
      const finishedRuns: Run[][] = [];
      steps.forEach((step, k) => {
        const stepId = `${plan.session}:${index}.${k}`;
        const prefix: Run = { key: step.prefix, tokens: step.prefixTokens };
        const fresh: Run = { key: `${stepId}:new`, tokens: step.newTokens };
        const output: Run = { key: `${stepId}:out`, tokens: step.outputTokens };
        const promptRuns = [prefix, ...history.context(step), fresh];
        const promptTokens = promptRuns.reduce((a, r) => a + r.tokens, 0);
        const last = index === stages.length - 1;
        const json = {
          model: step.model ?? plan.model ?? 'llama',
          messages: [
            { role: 'system', content: runText(prefix) },
            { role: 'user', content: promptRuns.slice(1).map(runText).join('') },
          ],
        };
        const input: RouteInput = {
          llm: {
            api: 'chat',
            model: json.model,
            stream: true,
            maxTokens: null,
            bodyBytes: promptTokens * 4,
            json,
          },
          rawBody: Buffer.alloc(0),
          identity: { workflow: plan.workflow, session: plan.session, agent: step.agent },
          requestId: `r${requestSeq++}`,
          sessionEnd: last,
        };
        const started = queue.now;
        let routed: RoutedRequest;
        try {
          routed = core.router.route(input);
        } catch {
          remaining--;
          return;
        }
        const replica = byAddress.get(routed.endpoint) as Replica;
        const priority = Number(
          routed.annotations.find(([k]) => k === PRIORITY_HEADER)?.[1] ?? NEUTRAL_PRIORITY,
        );
        const blockSize = replica.engine.profile.blockSize;
        let firstMs = -1;
        requests++;
        requestPromptTokens += promptTokens;
        pending.set(input.requestId, {
          onFirst: (ms) => {
            firstMs = ms;
            ttft.push((ms - started) / 1000);
          },
          onDone: (ms, cached) => {
            outputTokens += step.outputTokens;
            lastEnd = Math.max(lastEnd, ms);
            const firstOrEnd = (firstMs < 0 ? ms : firstMs) - started;
            const record: CompletedRequest = {
              requestId: input.requestId,
              identity: input.identity,
              sessionEnd: last,
              model: json.model,
              pool: routed.pool,
              endpoint: routed.endpoint,
              promptBytes: promptTokens * 4,
              usage: {
                outputTokens: step.outputTokens,
                reported: true,
                promptTokens,
                cachedTokens: cached,
                outputText: runText(output),
              },
              queueMs: firstOrEnd,
              firstTokenMs: firstOrEnd,
              totalMs: ms - started,
              startUnixMs: EPOCH_MS + started,
              endUnixMs: EPOCH_MS + ms,
              status: 'OK',
              httpStatus: 200,
              predictedAgent: routed.predictedAgent,
              predictedOutputTokens: routed.predictedOutputTokens,
              mode: routed.mode,
            };
            // Publishes the trace ext-proc would (to the profiler and the autoscaler).
            core.router.complete(routed, input, record);
            finishedRuns[k] = [fresh, output];
            maxAfter = Math.max(maxAfter, step.afterS);
            remaining--;
            if (remaining === 0) stageDone();
          },
        });
        submit(replica, {
          id: input.requestId,
          promptBlocks: blockHashes(promptRuns, blockSize),
          fullBlocks: blockHashes([...promptRuns, output], blockSize),
          promptTokens,
          outputTokens: step.outputTokens,
          priority,
          arrivalMs: queue.now,
          ...retentionFor(plan, step, index, stages, routed),
        });
      });
      const stageDone = () => {
        steps.forEach((s, k) => {
          const runs = finishedRuns[k];
          if (runs) history.record(s, runs[0] as Run, runs[1] as Run);
        });
        if (index + 1 < stages.length) queue.schedule(queue.now + maxAfter * 1000, () => runStage(index + 1));
        else {
          jct.push((queue.now - arrival) / 1000);
          jctSessions.push(plan.session);
          sessionsDone++;
          options.onProgress?.(sessionsDone, options.plans.length);
        }
      };
      if (remaining === 0) stageDone();
    };
    runStage(0);
  }

  // --- Retention hint (only when options.retention is set). ---
  function retentionFor(
    plan: SessionPlan,
    step: StepPlan,
    index: number,
    stages: StepPlan[][],
    routed: RoutedRequest,
  ): { retention?: RetentionHint } {
    if (!options.retention) return {};
    const later = stages.slice(index + 1).flat();
    const lastOfContext =
      step.thread === undefined
        ? !later.some((s) => s.history)
        : !later.some((s) => s.thread === step.thread);
    const hint = options.retention({
      session: plan.session,
      agent: step.agent,
      thread: step.thread ?? null,
      lastOfContext,
      routed,
    });
    return hint ? { retention: hint } : {};
  }

  for (const plan of options.plans) queue.schedule(plan.arrivalS * 1000, () => startSession(plan));
  const tick = (every: number, fn: () => void) => {
    const loop = () => {
      fn();
      if (sessionsDone < options.plans.length) queue.schedule(queue.now + every, loop);
    };
    queue.schedule(0, loop);
  };
  tick(options.scrapeIntervalMs, scrape);
  const replicaTimeline: Array<{ t: number; pool: string; replicas: number }> = [];
  const autoscale = options.autoscale;
  if (autoscale) {
    const active = new ActiveSessions(100_000);
    tracesListener = (trace) => active.ingest(trace, queue.now);
    startsListener = (start) => active.started(start, queue.now);
    const states = new Map<string, ScaleState>();
    // Start with the initial replicas on; the rest stopped.
    for (const pool of options.pools) {
      replicas
        .filter((r) => r.pool === pool.name)
        .forEach((r, i) => {
          r.state = i < autoscale.initialReplicas ? 'ready' : 'stopped';
        });
    }
    scrape();
    tick(autoscale.intervalMs, () => {
      const models = new Map<string, IndexedModel>();
      for (const m of core.models.all()) models.set(m.model.workflow, m);
      const settings = forecastSettings(options.config.autoscaler);
      const projected =
        autoscale.mode === 'forecast'
          ? forecast(active.positions(queue.now, 60_000), models, settings, (w, a) => active.poolOf(w, a))
          : null;
      for (const pool of options.pools) {
        const own = replicas.filter((r) => r.pool === pool.name);
        const on = own.filter((r) => r.state === 'starting' || r.state === 'ready');
        const state = states.get(pool.name) ?? { lowSinceS: null };
        states.set(pool.name, state);
        const engineLoad = (r: Replica) => ({
          waiting: r.engine.numWaiting,
          running: r.engine.numRunning,
          kvUsage: r.engine.kvUsage,
        });
        const live = poolLive(
          on.length,
          own.map(engineLoad),
          autoscale.requestsPerReplica,
          on.map(engineLoad),
        );
        const d = replicaTarget(
          projected ? (projected.get(pool.name) ?? emptyForecast(pool.name, settings)) : undefined,
          settings.bucketS,
          live,
          { ...autoscale.capacity, maxReplicas: own.length },
          state,
          queue.now / 1000,
        );
        let delta = d.target - on.length;
        for (const r of own) {
          if (delta > 0 && r.state === 'stopped') {
            r.state = 'starting';
            r.onSinceMs = queue.now;
            queue.schedule(queue.now + pool.profile.modelLoadS * 1000, () => {
              if (r.state === 'starting') r.state = 'ready';
              scrape();
            });
            delta--;
          } else if (delta > 0 && r.state === 'draining') {
            r.state = 'ready';
            delta--;
          }
        }
        for (const r of [...on].reverse()) {
          if (delta >= 0) break;
          r.state = 'draining';
          delta++;
        }
        for (const r of own) {
          if (r.state === 'draining' && r.engine.idle) {
            r.state = 'stopped';
            r.gpuMs += queue.now - r.onSinceMs;
          }
        }
        replicaTimeline.push({
          t: queue.now / 1000,
          pool: pool.name,
          replicas: own.filter((r) => r.state !== 'stopped').length,
        });
      }
      scrape();
    });
  }
  if (profiler) tick(options.rebuildIntervalMs, refreshModels);
  queue.run();

  const models = profiler?.models() ?? [];
  const scored = models.filter((m) => m.sessions > 0);
  const mean = (f: (m: (typeof models)[number]) => number) =>
    scored.length === 0
      ? null
      : scored.reduce((a, m) => a + f(m) * m.sessions, 0) / scored.reduce((a, m) => a + m.sessions, 0);
  const makespanS = lastEnd / 1000;
  return {
    jctS: jct,
    jctSessions,
    ttftS: ttft,
    outputTokens,
    makespanS,
    promptTokens: replicas.reduce((a, r) => a + r.engine.promptTokensTotal, 0),
    cachedTokens: replicas.reduce((a, r) => a + r.engine.cachedTokensTotal, 0),
    hostTokens: replicas.reduce((a, r) => a + r.engine.hostTokensTotal, 0),
    requestPromptTokens,
    busyGpuSeconds: replicas.reduce((a, r) => a + r.engine.busyMsTotal, 0) / 1000,
    prefillGpuSeconds: replicas.reduce((a, r) => a + r.engine.prefillMsTotal, 0) / 1000,
    preemptions: replicas.reduce((a, r) => a + r.engine.preemptionsTotal, 0),
    gpuSeconds: options.autoscale
      ? replicas.reduce((a, r) => a + r.gpuMs + (r.state === 'stopped' ? 0 : lastEnd - r.onSinceMs), 0) / 1000
      : replicas.length * makespanS,
    replicaTimeline,
    warmRequests,
    warmHits,
    warmOutcomes,
    sessionsCompleted: sessionsDone,
    requests,
    nextAgentAccuracy: mean((m) => m.nextAgentAccuracy),
    outputBoundCoverage: mean((m) => m.outputBoundCoverage),
    promotedAtS,
  };
}
