// The saturation detector: is an endpoint too busy to take another request now? From the
// scraped figures (requests waiting, KV-cache use), adjusted by what this gateway has
// dispatched there, and seen end there, since the last scrape, so a burst between two
// scrapes does not all land on an endpoint that looked idle. Pure.
import type { EndpointState } from '../../../../core/src/cluster/cluster-state.js';
import type { SaturationSettings } from './settings.js';

interface SinceScrape {
  dispatched: number;
  completed: number;
  /** KV tokens dispatched minus those of requests that ended. */
  tokens: number;
}

export class SaturationDetector {
  private readonly since = new Map<string, SinceScrape>();

  constructor(private readonly settings: SaturationSettings) {}

  private entry(address: string): SinceScrape {
    let e = this.since.get(address);
    if (!e) {
      e = { dispatched: 0, completed: 0, tokens: 0 };
      this.since.set(address, e);
    }
    return e;
  }

  /** New scraped figures arrived: they include everything dispatched before. */
  scraped(): void {
    this.since.clear();
  }

  dispatched(address: string, tokens: number): void {
    const e = this.entry(address);
    e.dispatched++;
    e.tokens += tokens;
  }

  completed(address: string, tokens: number): void {
    const e = this.entry(address);
    e.completed++;
    e.tokens -= tokens;
  }

  /** Requests waiting there by our estimate. */
  waiting(ep: EndpointState): number {
    const e = this.settings.countReservations ? this.since.get(ep.address) : undefined;
    if (!e) return ep.waiting;
    // With a waiting queue at the scrape, every request sent since joins it and every one
    // that ended let one of it start; without one the engine had room, and what we send
    // shows in the KV estimate instead.
    if (ep.waiting > 0) return Math.max(0, ep.waiting + e.dispatched - e.completed);
    return 0;
  }

  /** KV-cache use there by our estimate, in [0, 1+]. */
  kvUsage(ep: EndpointState): number {
    const e = this.settings.countReservations ? this.since.get(ep.address) : undefined;
    if (!e || ep.kvCapacityTokens <= 0) return ep.kvUsage;
    return Math.max(0, ep.kvUsage + e.tokens / ep.kvCapacityTokens);
  }

  saturated(ep: EndpointState): boolean {
    if (!ep.healthy) return true;
    return this.waiting(ep) >= this.settings.waiting || this.kvUsage(ep) >= this.settings.kvUsage;
  }
}
