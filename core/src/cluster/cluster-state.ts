// What this gateway knows about its pools and endpoints: configuration, health, what the
// servers report (scraped), what this replica has in flight with each request's predicted
// footprint, and what the other replicas have in flight (their events over NATS). Pure
// in-memory state; adapters (scrapers, the replica view) update it.

export interface PoolSpec {
  readonly name: string;
  readonly models: readonly string[];
  readonly endpoints: ReadonlyArray<{ readonly address: string }>;
  readonly kv_capacity_tokens?: number;
  readonly speed?: number;
  readonly priority_field?: boolean;
  readonly session_control_field?: boolean;
}

/** The footprint one routed request adds to its endpoint until it completes. */
export interface RequestLoad {
  /** Prompt tokens plus the predicted output bound: KV the request may need. */
  readonly reservedTokens: number;
  /** Probability the output outgrows its bound (1 - quantile when predicted). */
  readonly overflow: number;
  /** Output tokens still expected to be decoded. */
  readonly decodeTokens: number;
  /** Its workflow session (workflow and session id), when it has one. */
  readonly session?: string;
}

export interface LoadFigures {
  inFlight: number;
  reservedTokens: number;
  overflowSum: number;
  decodeTokens: number;
}

export interface EndpointState {
  readonly address: string;
  readonly pool: string;
  healthy: boolean;
  /** Requests routed there that have not completed: by this replica and, as reported, by the others. */
  inFlight: number;
  /** This replica's in-flight footprint. */
  readonly local: LoadFigures;
  /** The other live replicas' in-flight footprint, from their start and end events. */
  readonly remote: LoadFigures;
  /** Scraped from the server: requests waiting and running, KV usage in [0,1]. */
  waiting: number;
  running: number;
  kvUsage: number;
  kvCapacityTokens: number;
  /** Relative decode speed (pool hardware). */
  readonly speed: number;
  /** In-flight requests there per workflow session (both sides); absent: not tracked. */
  readonly sessions?: SessionCounts;
  /** Consecutive failed scrapes or connect errors. */
  failures: number;
}

export interface PoolState {
  readonly name: string;
  readonly models: readonly string[];
  readonly endpoints: EndpointState[];
  readonly priorityField: boolean;
  /** Retention hints go into the body as `nvext.session_control`. */
  readonly sessionControlField: boolean;
}

export const zeroLoad = (): LoadFigures => ({
  inFlight: 0,
  reservedTokens: 0,
  overflowSum: 0,
  decodeTokens: 0,
});

export const DEFAULT_KV_CAPACITY_TOKENS = 450_000;

/**
 * Requests in flight on an endpoint per session: `repeated` counts those beyond the first of
 * their session there (a fan-out's siblings), so in-flight - repeated is the sessions (and
 * requests without one) that wait on what runs there.
 */
export class SessionCounts {
  private readonly counts = new Map<string, number>();
  private extra = 0;

  get repeated(): number {
    return this.extra;
  }

  /** Requests of `session` in flight there. */
  count(session: string): number {
    return this.counts.get(session) ?? 0;
  }

  add(session: string): void {
    const n = this.counts.get(session) ?? 0;
    if (n > 0) this.extra++;
    this.counts.set(session, n + 1);
  }

  remove(session: string): void {
    const n = this.counts.get(session);
    if (n === undefined) return;
    if (n > 1) {
      this.extra--;
      this.counts.set(session, n - 1);
    } else this.counts.delete(session);
  }
}

export class ClusterState {
  private readonly pools = new Map<string, PoolState>();
  private readonly byModel = new Map<string, PoolState[]>();
  private readonly byAddress = new Map<string, EndpointState>();

  constructor(pools: readonly PoolSpec[]) {
    for (const pool of pools) {
      const state: PoolState = {
        name: pool.name,
        models: [...pool.models],
        priorityField: pool.priority_field ?? false,
        sessionControlField: pool.session_control_field ?? false,
        endpoints: pool.endpoints.map((e) => ({
          address: e.address,
          pool: pool.name,
          healthy: true,
          inFlight: 0,
          local: zeroLoad(),
          remote: zeroLoad(),
          waiting: 0,
          running: 0,
          kvUsage: 0,
          kvCapacityTokens: pool.kv_capacity_tokens ?? DEFAULT_KV_CAPACITY_TOKENS,
          speed: pool.speed ?? 1,
          sessions: new SessionCounts(),
          failures: 0,
        })),
      };
      this.pools.set(pool.name, state);
      for (const ep of state.endpoints) this.byAddress.set(ep.address, ep);
      for (const model of new Set([...pool.models, pool.name])) {
        const list = this.byModel.get(model) ?? [];
        list.push(state);
        this.byModel.set(model, list);
      }
    }
  }

  /** Pools serving `model` (a pool also answers to its own name). */
  poolsForModel(model: string): readonly PoolState[] {
    return this.byModel.get(model) ?? [];
  }

  pool(name: string): PoolState | undefined {
    return this.pools.get(name);
  }

  allPools(): IterableIterator<PoolState> {
    return this.pools.values();
  }

  allEndpoints(): IterableIterator<EndpointState> {
    return this.byAddress.values();
  }

  endpoint(address: string): EndpointState | undefined {
    return this.byAddress.get(address);
  }

  setHealthy(address: string, healthy: boolean): void {
    const ep = this.byAddress.get(address);
    if (ep) ep.healthy = healthy;
  }

  acquire(address: string, load: RequestLoad = NO_LOAD): void {
    this.add(address, 'local', load);
  }

  release(address: string, load: RequestLoad = NO_LOAD): void {
    this.remove(address, 'local', load);
  }

  /** Another replica routed a request there. */
  acquireRemote(address: string, load: RequestLoad): void {
    this.add(address, 'remote', load);
  }

  /** Another replica's request there ended (or that replica stopped counting). */
  releaseRemote(address: string, load: RequestLoad): void {
    this.remove(address, 'remote', load);
  }

  private add(address: string, side: 'local' | 'remote', load: RequestLoad): void {
    const ep = this.byAddress.get(address);
    if (!ep) return;
    const f = ep[side];
    ep.inFlight++;
    f.inFlight++;
    f.reservedTokens += load.reservedTokens;
    f.overflowSum += load.overflow;
    f.decodeTokens += load.decodeTokens;
    if (load.session !== undefined) ep.sessions?.add(load.session);
  }

  private remove(address: string, side: 'local' | 'remote', load: RequestLoad): void {
    const ep = this.byAddress.get(address);
    if (!ep || ep[side].inFlight === 0) return;
    const f = ep[side];
    ep.inFlight = Math.max(0, ep.inFlight - 1);
    f.inFlight--;
    f.reservedTokens = Math.max(0, f.reservedTokens - load.reservedTokens);
    f.overflowSum = Math.max(0, f.overflowSum - load.overflow);
    f.decodeTokens = Math.max(0, f.decodeTokens - load.decodeTokens);
    if (load.session !== undefined) ep.sessions?.remove(load.session);
  }
}

const NO_LOAD: RequestLoad = { reservedTokens: 0, overflow: 0, decodeTokens: 0 };

/** This replica's and the others' figures together. */
export function totalLoad(ep: EndpointState): LoadFigures {
  return {
    inFlight: ep.local.inFlight + ep.remote.inFlight,
    reservedTokens: ep.local.reservedTokens + ep.remote.reservedTokens,
    overflowSum: ep.local.overflowSum + ep.remote.overflowSum,
    decodeTokens: ep.local.decodeTokens + ep.remote.decodeTokens,
  };
}
