// Scrapes each model server's Prometheus /metrics on an interval (vLLM names: running,
// waiting, KV usage, cache config) into the cluster state. An endpoint that fails
// `unhealthy_after_failures` scrapes in a row is taken out of scheduling; the next
// successful scrape brings it back (the core's health rule).
import type { PythiaConfig } from './config/schema.js';
import type { Logger } from './logger.js';
import type { ClusterState, EndpointState } from '../../core/src/cluster/cluster-state.js';
import { afterProbe } from '../../core/src/cluster/endpoint-health.js';
import { parsePrometheusText, serverLoad, VLLM_METRICS } from '../../core/src/cluster/prometheus-text.js';

export interface ScrapeMetrics {
  scraped(pool: string, endpoint: string, ok: boolean, healthy: boolean): void;
}

export class EndpointScraper {
  private readonly timer: NodeJS.Timeout;
  private readonly paths = new Map<string, string>();
  private inProgress: Promise<void> | null = null;

  constructor(
    private readonly cluster: ClusterState,
    private readonly config: PythiaConfig,
    private readonly metrics: ScrapeMetrics,
    private readonly log: Logger,
    /** Called after each round of scrapes (flow control may release held requests). */
    private readonly onScraped: (() => void) | null = null,
  ) {
    for (const pool of config.pools)
      for (const ep of pool.endpoints) this.paths.set(ep.address, pool.metrics_path);
    this.timer = setInterval(() => void this.scrapeAll(), config.scheduler.scrape_interval_ms);
    this.timer.unref();
    void this.scrapeAll();
  }

  /** One scrape of every endpoint (joins the one under way, if any). */
  scrapeAll(): Promise<void> {
    this.inProgress ??= Promise.all([...this.cluster.allEndpoints()].map((ep) => this.scrape(ep))).then(
      () => {
        this.inProgress = null;
        this.onScraped?.();
      },
    );
    return this.inProgress;
  }

  private async scrape(ep: EndpointState): Promise<void> {
    const s = this.config.scheduler;
    try {
      const res = await fetch(`http://${ep.address}${this.paths.get(ep.address) ?? '/metrics'}`, {
        signal: AbortSignal.timeout(s.scrape_timeout_ms),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const load = serverLoad(parsePrometheusText(await res.text(), VLLM_METRICS));
      ep.running = load.running ?? ep.running;
      ep.waiting = load.waiting ?? ep.waiting;
      ep.kvUsage = load.kvUsage ?? ep.kvUsage;
      if (load.kvCapacityTokens !== null) ep.kvCapacityTokens = load.kvCapacityTokens;
      if (this.probed(ep, true))
        this.log.info({ endpoint: ep.address, pool: ep.pool }, 'endpoint healthy again');
      this.metrics.scraped(ep.pool, ep.address, true, true);
    } catch (err) {
      if (this.probed(ep, false)) {
        this.log.warn(
          { err, endpoint: ep.address, pool: ep.pool, failures: ep.failures },
          'endpoint unhealthy: stop sending to it',
        );
      }
      this.metrics.scraped(ep.pool, ep.address, false, ep.healthy);
    }
  }

  /** Applies the health rule to one scrape; true when it changed the endpoint's health. */
  private probed(ep: EndpointState, ok: boolean): boolean {
    const next = afterProbe(ep, ok, this.config.scheduler.unhealthy_after_failures);
    const changed = next.healthy !== ep.healthy;
    ep.healthy = next.healthy;
    ep.failures = next.failures;
    return changed;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
