// A simulated GPU cluster in virtual time running the services' own code: the gateway core
// routes exactly as ext-proc does (createGatewayCore, router.route / router.complete), the
// profiler's pass learns from the traces it publishes (shadow first, then promotion), the
// autoscaler's loop starts and stops replicas; warm requests and priorities are applied to
// the simulated engines. Every setting is read from the configuration, as the services read
// it. Deterministic for a seed.
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { seededRandom } from '../../../test-support/src/workloads/rng.js';
import type { SessionPlan } from '../../../test-support/src/workloads/session-plan.js';
import { SimAutoscaling, type SimAutoscalingOptions } from './autoscaling.js';
import { EventQueue } from './event-queue.js';
import { OracleGate } from './oracle-gate.js';
import { NO_LEARNING, SimProfiling } from './profiling.js';
import { ReplicaFleet, type SimPool } from './replica-fleet.js';
import { type ClusterRunResult, RunTally } from './run-results.js';
import { scrapeView } from './scrape-view.js';
import type { EngineOptions } from './engine.js';
import { EPOCH_MS, type RetentionPolicy, SessionDriver } from './session-driver.js';
import { simulatedConfig } from './sim-config.js';
import { WarmTraffic } from './warm-traffic.js';
import type { IdentityMode } from './client-identity.js';
import { type ExtProcReplicas, ReplicaBus, RoundRobinGateways } from './ext-proc-replicas.js';
import type { GatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';

export type { SimPool } from './replica-fleet.js';
export type { ClusterRunResult } from './run-results.js';
export type { RetentionPolicy, RetentionQuery } from './session-driver.js';

export interface ClusterRunOptions {
  /**
   * The services' configuration (scheduler, profiler and autoscaler sections, levers); the
   * pools' endpoints, and their replica bounds and model load time, come from `pools`.
   */
  readonly config: PythiaConfig;
  readonly pools: readonly SimPool[];
  /** Engines schedule by priority (vLLM --scheduling-policy priority) when true. */
  readonly priorityScheduling: boolean;
  /** Run the profiler (predictions, promotion) in the loop. */
  readonly learn: boolean;
  readonly plans: readonly SessionPlan[];
  readonly seed: number;
  /** Optional progress callback (sessions done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Autoscaling in the loop: replicas start (after the profile's model load time) and stop
   * on the autoscaler loop's decisions. `pools[].replicas` is then the most a pool may have.
   */
  readonly autoscale?: SimAutoscalingOptions;
  // Engine extras, applied to every replica and every policy alike (off when absent).
  /** Engine options for every replica (e.g. a host-memory KV tier). */
  readonly engine?: EngineOptions;
  /** The KV-retention hint each request carries; absent: none. */
  readonly retention?: RetentionPolicy;
  /** What the clients send to identify their workflows (default: the Pythia headers). */
  readonly identity?: IdentityMode;
  /** Several ext-proc replicas sharing live sessions (default: one). */
  readonly extProcReplicas?: ExtProcReplicas;
  /**
   * The oracle bound instead of the router (oracle-gate.ts): true output lengths and remaining
   * session work, a gateway queue, engines by priority. Learning and retention do not apply.
   */
  readonly oracle?: boolean;
}

export function runCluster(options: ClusterRunOptions): ClusterRunResult {
  const queue = new EventQueue();
  const fleet = new ReplicaFleet(
    queue,
    options.pools,
    options.priorityScheduling ? 'priority' : 'fcfs',
    options.engine,
  );
  const config = simulatedConfig(options.config, options.pools, fleet, options.priorityScheduling);
  const tally = new RunTally(options.plans.length, options.onProgress);
  const profiling = options.learn ? new SimProfiling(config) : null;
  const autoscaling = options.autoscale
    ? new SimAutoscaling(config, options.pools, fleet, queue, options.autoscale)
    : null;
  const warm = new WarmTraffic(fleet, queue);
  const replicaCount = options.extProcReplicas?.count ?? 1;
  const wallNow = () => EPOCH_MS + queue.now;
  const bus = replicaCount > 1 ? new ReplicaBus(queue, options.extProcReplicas?.delayMs ?? 0, wallNow) : null;
  const random = seededRandom(options.seed);
  const cores: GatewayCore[] = [];
  for (let i = 0; i < replicaCount; i++) {
    const core: GatewayCore = createGatewayCore(config, {
      clock: { now: () => queue.now, wallNow },
      // What ext-proc publishes over NATS, delivered in-process at the same moments.
      traces: {
        publish: (trace) => {
          profiling?.ingest(trace, queue.now);
          autoscaling?.ingest(trace);
        },
        started: (start) => autoscaling?.started(start),
      },
      random,
      tieBreakSeed: options.seed,
      events: warm,
      warmSender: { send: (plan) => warm.send(plan, core.planner) },
      ...(bus ? { replica: { id: `r${i}`, sink: bus.sink(i) } } : {}),
      flowEvents: {
        held: () => tally.held++,
        released: (_pool, _workflow, reason, waitS) => {
          if (reason !== 'immediate') tally.heldReleased(waitS);
        },
        shed: () => {},
        cancelled: () => {},
      },
      // Flow control's timers on the virtual clock (a fired timer of a released request does nothing).
      timers: {
        at: (atMs, fn) => {
          let live = true;
          queue.schedule(atMs, () => {
            if (live) fn();
          });
          return () => {
            live = false;
          };
        },
        defer: (fn) => queue.schedule(queue.now, fn),
      },
    });
    bus?.add(core);
    cores.push(core);
  }
  const core = cores[0] as GatewayCore;
  const scrapes = cores.map((c) =>
    scrapeView(fleet, c.cluster, config.scheduler.unhealthy_after_failures, () => queue.now),
  );
  // As the service's scraper does: fresh figures may release held requests.
  const scrape = () => {
    for (const s of scrapes) s();
    for (const c of cores) c.flow?.scraped();
  };

  const oracle = options.oracle ? new OracleGate(fleet) : null;
  if (oracle) fleet.afterStep = () => oracle.release();
  const gateways = new RoundRobinGateways(cores);
  new SessionDriver(
    queue,
    gateways,
    fleet,
    tally,
    oracle ? null : (options.retention ?? null),
    options.identity ?? 'headers',
    oracle,
  ).schedule(options.plans);
  // Periodic work, from time 0 until every session has completed.
  const every = (intervalMs: number, fn: () => void) => {
    const loop = () => {
      fn();
      if (!tally.finished) queue.schedule(queue.now + intervalMs, loop);
    };
    queue.schedule(0, loop);
  };
  if (config.scheduler.scrape_interval_ms > 0) every(config.scheduler.scrape_interval_ms, scrape);
  if (autoscaling) {
    scrape();
    every(autoscaling.intervalMs, () => autoscaling.tick(core.models.all(), scrape));
  }
  if (profiling)
    every(profiling.intervalMs, () => {
      // The models bucket reaches every replica alike.
      profiling.run(queue.now, EPOCH_MS + queue.now, core.models);
      for (const other of cores.slice(1)) for (const m of core.models.all()) other.models.set(m.model);
    });
  queue.run();

  return {
    ...tally.result(
      fleet,
      autoscaling !== null,
      warm,
      profiling?.figures() ?? NO_LEARNING,
      autoscaling?.timeline ?? [],
    ),
    replicaEvents: bus?.events ?? 0,
    replicaEventBytes: bus?.bytes ?? 0,
    requestsPerExtProc: [...gateways.requests],
  };
}
