// Autoscaling in the simulated cluster: the autoscaler service's loop (autoscaler-loop),
// fed the request starts and traces the router publishes and each pool's engines as the
// scraper would read them, ticking every `autoscaler.interval_s` of virtual time; its
// targets start and stop simulated replicas.
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import type { RequestStart } from '../../../core/src/wire/request-start.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { IndexedModel } from '../../../core/src/workflow/predictor.js';
import { AutoscalerLoop, type PoolView } from '../../../autoscaler/src/core/autoscaler-loop.js';
import type { EventQueue } from './event-queue.js';
import { type ReplicaFleet, type SimPool, engineLoad } from './replica-fleet.js';
import type { ReplicaCount } from './run-results.js';

export interface SimAutoscalingOptions {
  /** `forecast` (Pythia) or `reactive` (the queue alone, as KEDA scales). */
  readonly mode: 'forecast' | 'reactive';
  /** Replicas of each pool on at the start. */
  readonly initialReplicas: number;
}

export class SimAutoscaling {
  private readonly loop: AutoscalerLoop;
  /** Replicas on per pool after each tick. */
  readonly timeline: ReplicaCount[] = [];

  constructor(
    config: PythiaConfig,
    private readonly pools: readonly SimPool[],
    private readonly fleet: ReplicaFleet,
    private readonly queue: EventQueue,
    options: SimAutoscalingOptions,
  ) {
    this.loop = new AutoscalerLoop(config, { mode: options.mode });
    fleet.startWith(options.initialReplicas);
  }

  get intervalMs(): number {
    return this.loop.intervalMs;
  }

  started(start: RequestStart): void {
    this.loop.started(start, this.queue.now);
  }

  ingest(trace: Trace): void {
    this.loop.ingest(trace, this.queue.now);
  }

  /** One decision per pool, applied to the fleet; `scrape` refreshes the gateway's view. */
  tick(models: Iterable<IndexedModel>, scrape: () => void): void {
    const views = new Map<string, PoolView>();
    for (const pool of this.pools) {
      const own = this.fleet.ofPool(pool.name);
      const on = own.filter((r) => r.state === 'starting' || r.state === 'ready');
      views.set(pool.name, {
        current: on.length,
        replicas: own.map(engineLoad),
        serving: on.map(engineLoad),
      });
    }
    const { decisions } = this.loop.tick(this.queue.now, models, views);
    for (const d of decisions) {
      const pool = this.pools.find((p) => p.name === d.pool) as SimPool;
      this.fleet.resize(pool, d.target, scrape);
      this.timeline.push({
        t: this.queue.now / 1000,
        pool: pool.name,
        replicas: this.fleet.onCount(pool.name),
      });
    }
    scrape();
  }
}
