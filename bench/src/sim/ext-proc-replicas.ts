// Several ext-proc replicas in the simulated cluster: N real gateway cores, fed round-robin
// as Envoy spreads ext_proc streams over the ext_proc cluster's hosts, each request
// completing on the core that routed it; what each core sends its peers (pythia.replica.v1
// events, encoded and decoded as on NATS) reaches every other core `delayMs` later in
// virtual time.
import type { GatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import type { RequestRouter } from '../../../ext-proc/src/core/routing/route-decision.js';
import type { FlowGate } from '../../../ext-proc/src/core/flow-control/flow-gate.js';
import type { ReplicaSink } from '../../../ext-proc/src/core/routing/replica-view.js';
import type { IdentityResolver } from '../../../core/src/identity/resolver.js';
import { REPLICA_EVENTS } from '../../../core/src/wire/channels.js';
import type { ReplicaEventBody } from '../../../core/src/wire/replica-event.js';
import type { EventQueue } from './event-queue.js';

export interface ExtProcReplicas {
  /** Gateway cores (ext-proc replicas); 1 is the single replica of every other bench. */
  readonly count: number;
  /** Virtual milliseconds from a replica sending an event to the others applying it. */
  readonly delayMs: number;
}

/** Loopback NATS staleness, p50 measured by `npm run bench:ext-proc -- --replicas 2` (docs/scaling.md). */
export const DEFAULT_REPLICA_DELAY_MS = 1;

/** The in-memory pythia.replica.v1 subject between the bench's cores. */
export class ReplicaBus {
  private readonly cores: GatewayCore[] = [];
  private readonly seqs: number[] = [];
  /** Events and their encoded bytes, for messages and bytes per request. */
  events = 0;
  bytes = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly delayMs: number,
    private readonly wallNow: () => number,
  ) {}

  /** The sink of core `index` (register it with `add` once built). */
  sink(index: number): ReplicaSink {
    return { emit: (body) => this.emit(index, body) };
  }

  add(core: GatewayCore): void {
    this.cores.push(core);
    this.seqs.push(0);
  }

  private emit(from: number, body: ReplicaEventBody): void {
    const seq = (this.seqs[from] ?? 0) + 1;
    this.seqs[from] = seq;
    const bytes = REPLICA_EVENTS.encode({ replica: `r${from}`, seq, unixMs: this.wallNow(), body });
    this.events++;
    this.bytes += bytes.length;
    const at = this.queue.now + this.delayMs;
    this.queue.schedule(at, () => {
      const event = REPLICA_EVENTS.decode(bytes);
      for (const [i, core] of this.cores.entries())
        if (i !== from) core.replicas?.apply(event, this.queue.now);
    });
  }
}

/** The ext-proc a request reaches: its identity resolver, its router, and its flow control when on. */
export interface Gateway {
  readonly identity: IdentityResolver;
  readonly router: RequestRouter;
  readonly gate: FlowGate | null;
}

/** Envoy's round-robin over the ext_proc hosts: each request to the next core (it ends where it was routed). */
export class RoundRobinGateways {
  private next = 0;
  private readonly gateways: readonly Gateway[];
  /** Requests handed to each core, in core order (which cores a run's results come from). */
  readonly requests: number[];

  constructor(cores: readonly GatewayCore[]) {
    this.gateways = cores.map((c) => ({ identity: c.identity, router: c.router, gate: c.flow }));
    this.requests = cores.map(() => 0);
  }

  pick(): Gateway {
    const gateway = this.gateways[this.next] as Gateway;
    this.requests[this.next] = (this.requests[this.next] ?? 0) + 1;
    this.next = (this.next + 1) % this.gateways.length;
    return gateway;
  }
}
