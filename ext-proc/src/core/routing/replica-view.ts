// The other ext-proc replicas, folded into this replica's own tables. Envoy spreads a
// session's requests over the replicas at random, so each replica applies every other
// replica's request starts and ends, reservations and recorded exchanges to the same
// structures the router decides with (session stages, session affinity, session history,
// agent prompts, the prefix index, the in-flight footprint per endpoint, the identity
// resolver's sessions, conversation chains and fingerprints). A replica not heard
// from for `deadAfterMs` stops counting: its in-flight requests are dropped. Pure: the
// adapter (NATS) or the bench (an in-memory bus) delivers the events and the time.
//
// Bounds: other replicas (count), their requests in flight (count per replica, and count and
// estimated bytes over all replicas: past either the oldest request of the replica holding
// the most bytes goes, so one runaway replica cannot push out the others' requests), idle
// expiry (a silent replica, a request older than the stream deadline), and the size of every
// field an event brings (identifiers as headers are bounded, ids, endpoint, prefix blocks),
// an event for an endpoint not configured is refused. What the events fold into the shared
// tables is bounded by those tables. NATS is trusted: whoever may publish on the subject can
// occupy the replica slots with forged ids (docs/operations.md: restrict it to ext-proc).
import { stringBytes } from '../../../../core/src/bounded/memory-cost.js';
import type { ClusterState, RequestLoad } from '../../../../core/src/cluster/cluster-state.js';
import { sessionKey } from '../../../../core/src/workflow/identifiers.js';
import type { IdentityResolver } from '../../../../core/src/identity/resolver.js';
import { MAX_OPEN_MARKS } from '../../../../core/src/workflow/stages.js';
import type { OrderMark } from '../../../../core/src/prompt/order-mark.js';
import type { ReplicaEvent, ReplicaEventBody } from '../../../../core/src/wire/replica-event.js';
import type { WorkflowIdentity } from '../../../../core/src/workflow/identifiers.js';
import type { AgentPrompts } from './agent-prompts.js';
import type { PrefixIndex } from './prefix-index.js';
import type { SessionAffinity } from './session-affinity.js';
import type { SessionHistory } from './session-history.js';
import type { SessionTracker } from './session-tracker.js';
import type { WarmPlanner } from './warm-planner.js';

/** Where the router reports what the other replicas must know (the adapter stamps and sends it). */
export interface ReplicaSink {
  emit(body: ReplicaEventBody): void;
}

export interface ReplicaViewSettings {
  /** A replica not heard from for longer stops counting. */
  readonly deadAfterMs: number;
  /** Other replicas tracked at most (more are ignored until one stops counting). */
  readonly maxReplicas: number;
  /** In-flight requests kept per other replica (the oldest is dropped beyond it). */
  readonly maxInFlightPerReplica: number;
  /** An in-flight request older than this is dropped (its end was lost). */
  readonly requestMaxMs: number;
  /** In-flight requests kept over all other replicas. */
  readonly maxRemoteInFlight: number;
  /** Estimated bytes of those, overhead included. */
  readonly maxRemoteBytes: number;
  /** Longest workflow, session or agent name accepted (identifiers.max_length). */
  readonly maxIdentifierLength: number;
  /** Prefix block hashes accepted per event (a whole body's worth of blocks). */
  readonly maxPrefixHashes: number;
  /** A reservation lasts at most this long (scheduler.warming.reservation_s), whatever the event says. */
  readonly maxReservationMs: number;
}

/** A start that proved no running request ended (most). */
const PROVES_NOTHING = (): boolean => false;

/** Longest replica id or endpoint address accepted from an event. */
export const MAX_REPLICA_FIELD_LENGTH = 256;

/**
 * Heap bytes of one remote in-flight request besides its strings and hashes: the Map slot,
 * the request, its load and identity objects, the hash array's header. Measured with
 * `npm run bench:cardinality -- --measure` (remote in flight: 412 B an entry with two
 * hashes and the flood's names, keyed by flight number, against 463 estimated).
 */
export const REMOTE_REQUEST_BYTES = 320;

/** Bytes per prefix block hash (an unsigned 32-bit hash past the small-integer range is a heap number). */
export const REMOTE_HASH_BYTES = 16;

/** Bytes of a remote request's order mark (its object and two numbers). */
export const REMOTE_MARK_BYTES = 48;

/** Estimated bytes of one remote in-flight request (its key, a flight number, is in the Map slot). */
export function remoteRequestBytes(r: RemoteRequest): number {
  const id = r.identity;
  return (
    REMOTE_REQUEST_BYTES +
    stringBytes(r.endpoint) +
    stringBytes(id.workflow) +
    stringBytes(id.session) +
    stringBytes(id.agent) +
    REMOTE_HASH_BYTES * r.prefixHashes.length +
    (r.order ? REMOTE_MARK_BYTES : 0)
  );
}

export interface ReplicaViewParts {
  readonly cluster: ClusterState;
  readonly sessions: SessionTracker;
  readonly affinity: SessionAffinity;
  readonly prefixIndex: PrefixIndex;
  readonly prompts: AgentPrompts;
  readonly history: SessionHistory;
  readonly planner: WarmPlanner;
  readonly identity: IdentityResolver;
}

export interface RemoteRequest {
  readonly endpoint: string;
  readonly load: RequestLoad;
  readonly identity: WorkflowIdentity;
  readonly startedMs: number;
  /** Its prompt's block hashes: computed on its endpoint once it ends (prefix index). */
  readonly prefixHashes: readonly number[];
  /** Its mark (stages: a later request may prove it ended; its end clears it). */
  readonly order: OrderMark | null;
  /** A later request proved it ended: its footprint was released before its end arrived. */
  released: boolean;
}

interface Peer {
  lastSeq: number;
  lastHeardMs: number;
  /**
   * The replica's flight number -> the request's footprint, oldest first (Map insertion
   * order). Keyed by the number the replica gave the request, never by the client's
   * x-request-id: concurrent requests with one client id stay apart, and a request cannot
   * end another's.
   */
  readonly inFlight: Map<number, RemoteRequest>;
  /** Estimated bytes of `inFlight`. */
  bytes: number;
}

export type ApplyResult = 'applied' | 'duplicate' | 'own' | 'refused';

export interface ReplicaViewCounts {
  /** Events missing between two applied ones of a replica (lost on core NATS). */
  gaps: number;
  /** Replicas that stopped counting. */
  dead: number;
  /** In-flight requests dropped (their replica stopped counting, or past the bounds). */
  dropped: number;
  /** Events refused: a field past its bound, an unknown endpoint, or no replica slot left. */
  refused: number;
}

export class ReplicaView {
  private readonly peers = new Map<string, Peer>();
  /** Local time the latest replayed event was folded in at (replayed times never go back). */
  private replayedAtMs = Number.NEGATIVE_INFINITY;
  readonly counts: ReplicaViewCounts = { gaps: 0, dead: 0, dropped: 0, refused: 0 };
  private inFlightCount = 0;
  private inFlightBytes = 0;

  constructor(
    /** This replica's id: its own events are skipped. */
    readonly self: string,
    private readonly parts: ReplicaViewParts,
    private readonly settings: ReplicaViewSettings,
  ) {
    parts.sessions.onSettled = (id, marks, nowMs) => this.settle(id, marks, nowMs);
  }

  /**
   * Requests of another replica that a later request of their session proved ended (its
   * history answers them): their footprint is released and their blocks confirmed now, as
   * their end would, so placement sees the load one replica sees. Runs only on a proof (the
   * end raced the session's next request); scans the other replicas' requests in flight.
   */
  private settle(id: WorkflowIdentity, marks: readonly OrderMark[], nowMs: number): void {
    for (const peer of this.peers.values())
      for (const r of peer.inFlight.values()) {
        if (
          r.released ||
          !r.order ||
          r.identity.session !== id.session ||
          r.identity.workflow !== id.workflow
        )
          continue;
        const order = r.order;
        if (!marks.some((m) => m.index === order.index && m.hash === order.hash)) continue;
        this.release(r, nowMs);
      }
  }

  /** Gives back a request's footprint and confirms its blocks (once). */
  private release(r: RemoteRequest, nowMs: number): void {
    if (r.released) return;
    r.released = true;
    this.parts.cluster.releaseRemote(r.endpoint, r.load);
    if (r.prefixHashes.length > 0) this.parts.prefixIndex.confirm(r.prefixHashes, r.endpoint, nowMs);
  }

  /** Other replicas counting now. */
  get replicas(): number {
    return this.peers.size;
  }

  /** Other replicas' requests in flight. */
  get remoteInFlight(): number {
    return this.inFlightCount;
  }

  /** Estimated bytes of the other replicas' requests in flight, overhead included. */
  get remoteBytes(): number {
    return this.inFlightBytes;
  }

  /** The latest applied sequence number of each other replica. */
  watermarks(): Map<string, number> {
    return new Map([...this.peers].map(([id, p]) => [id, p.lastSeq]));
  }

  /**
   * Applies one event at local time `nowMs`; `ageMs` is how long ago it was sent (catch-up
   * replays old events: a replica silent for longer than the bound is dropped by the next
   * expire(), with its in-flight requests).
   *
   * A live event is folded in at `nowMs`, when it arrived, as every live replica folds it.
   * A replayed one (`replayed`: read from the stream, or held while catching up) is folded in
   * at the time it was sent, on this replica's clock: replayed at one instant, a session's
   * sequential requests would start within the sibling launch window of each other and merge
   * into one stage (other roles, other predictions and tie-breaks than the live replicas'),
   * and reservations and prefix blocks would look newer than they are. Those times never go
   * backwards (senders' clocks may differ by a few milliseconds) nor past `nowMs`.
   */
  apply(event: ReplicaEvent, nowMs: number, ageMs = 0, replayed = false): ApplyResult {
    if (event.replica === this.self) return 'own';
    if (!this.acceptable(event)) {
      this.counts.refused++;
      return 'refused';
    }
    let peer = this.peers.get(event.replica);
    const heardMs = nowMs - Math.max(0, ageMs);
    if (!peer) {
      if (this.peers.size >= this.settings.maxReplicas) {
        this.counts.refused++;
        return 'refused';
      }
      peer = { lastSeq: 0, lastHeardMs: heardMs, inFlight: new Map(), bytes: 0 };
      this.peers.set(event.replica, peer);
    } else if (event.seq <= peer.lastSeq) return 'duplicate';
    if (peer.lastSeq > 0 && event.seq > peer.lastSeq + 1) this.counts.gaps += event.seq - peer.lastSeq - 1;
    peer.lastSeq = event.seq;
    peer.lastHeardMs = Math.max(peer.lastHeardMs, heardMs);
    let atMs = nowMs;
    if (replayed) {
      atMs = Math.min(nowMs, Math.max(this.replayedAtMs, heardMs));
      this.replayedAtMs = atMs;
    }
    this.fold(peer, event.body, atMs);
    return 'applied';
  }

  /** Every field within its bound, and the endpoint one of ours. */
  private acceptable(event: ReplicaEvent): boolean {
    if (event.replica.length > MAX_REPLICA_FIELD_LENGTH) return false;
    const body = event.body;
    if (body.kind === 'heartbeat') return true;
    const max = this.settings.maxIdentifierLength;
    // An identity share names ids only (hashed or fingerprinted), bounded like a request's own.
    if (body.kind === 'identity')
      return body.session.length <= max && body.workflow.length <= max && body.role.length <= max;
    const id = body.identity;
    if (id.workflow.length > max || id.session.length > max || id.agent.length > max) return false;
    if (body.kind === 'end') return Number.isSafeInteger(body.flight);
    if (body.endpoint.length > MAX_REPLICA_FIELD_LENGTH || !this.parts.cluster.endpoint(body.endpoint))
      return false;
    if (body.kind === 'reserve') return body.warmHashes.length <= this.settings.maxPrefixHashes;
    // A start without a flight number (a replica of a version that sent the client's id) is refused.
    return (
      Number.isSafeInteger(body.flight) &&
      body.flight >= 1 &&
      body.prefixHashes.length <= this.settings.maxPrefixHashes &&
      body.settles.length <= MAX_OPEN_MARKS
    );
  }

  private fold(peer: Peer, body: ReplicaEventBody, nowMs: number): void {
    const p = this.parts;
    switch (body.kind) {
      case 'heartbeat':
        // Its count says how many of its requests are in flight: ends we missed (lost on
        // core NATS) are caught up here, oldest first.
        while (peer.inFlight.size > body.inFlight) this.dropOldest(peer);
        return;
      case 'start': {
        const id = body.identity;
        // The requests its sender proved ended are settled here too: it joins the same stage.
        const settles = body.settles;
        p.sessions.start(
          id,
          nowMs,
          settles.length === 0
            ? { mark: body.order, proves: PROVES_NOTHING }
            : {
                mark: body.order,
                proves: (m) => settles.some((s) => s.index === m.index && s.hash === m.hash),
                proved: [],
              },
        );
        if (body.prompt) p.prompts.put(id.workflow, id.agent, body.prompt);
        const load: RequestLoad = {
          reservedTokens: body.reservedTokens,
          overflow: body.overflow,
          decodeTokens: body.decodeTokens,
          session: sessionKey(id.workflow, id.session),
        };
        p.cluster.acquireRemote(body.endpoint, load);
        if (body.prefixHashes.length > 0) p.prefixIndex.record(body.prefixHashes, body.endpoint, nowMs);
        p.affinity.placed(id.workflow, id.session, body.endpoint, nowMs);
        // A replica numbers each request once: a repeated flight is a replayed start.
        const old = peer.inFlight.get(body.flight);
        if (old) this.drop(peer, body.flight, old);
        if (peer.inFlight.size >= this.settings.maxInFlightPerReplica) this.dropOldest(peer);
        const request: RemoteRequest = {
          endpoint: body.endpoint,
          load,
          identity: id,
          startedMs: nowMs,
          prefixHashes: body.prefixHashes,
          order: body.order,
          released: false,
        };
        peer.inFlight.set(body.flight, request);
        const bytes = remoteRequestBytes(request);
        peer.bytes += bytes;
        this.inFlightCount++;
        this.inFlightBytes += bytes;
        this.enforceTotal();
        return;
      }
      case 'end': {
        const id = body.identity;
        const request = peer.inFlight.get(body.flight);
        if (request) {
          this.forget(peer, body.flight, request);
          // As the placing replica confirms it: parallel siblings may now count these blocks.
          this.release(request, nowMs);
          p.sessions.end(id, nowMs, request.order);
        }
        if (body.sessionEnd) {
          p.sessions.forget(id);
          p.history.drop(id.workflow, id.session);
        } else if (body.history) {
          // An empty exchange: the recording replica dropped the session's (too long).
          if (body.history.messages.length === 0) p.history.drop(id.workflow, id.session);
          else p.history.put(id.workflow, id.session, body.history);
        }
        return;
      }
      case 'identity':
        p.identity.apply(body);
        return;
      case 'reserve': {
        const id = body.identity;
        const forMs = Math.min(Math.max(0, body.forMs), this.settings.maxReservationMs);
        p.affinity.reserve(id.workflow, id.session, id.agent, body.endpoint, nowMs + forMs, nowMs);
        if (body.warmHashes.length > 0) {
          p.prefixIndex.record(body.warmHashes, body.endpoint, nowMs);
          p.planner.remoteWarm(nowMs);
        }
        return;
      }
    }
  }

  /** Takes a request out of a replica's in-flight table and the totals. */
  private forget(peer: Peer, flight: number, request: RemoteRequest): void {
    if (!peer.inFlight.delete(flight)) return;
    const bytes = remoteRequestBytes(request);
    peer.bytes -= bytes;
    this.inFlightCount--;
    this.inFlightBytes -= bytes;
  }

  /** Past the totals' bounds: the oldest request of the replica holding the most bytes goes. */
  private enforceTotal(): void {
    const s = this.settings;
    while (this.inFlightCount > s.maxRemoteInFlight || this.inFlightBytes > s.maxRemoteBytes) {
      let heaviest: Peer | null = null;
      for (const peer of this.peers.values()) if (!heaviest || peer.bytes > heaviest.bytes) heaviest = peer;
      if (!heaviest || heaviest.inFlight.size === 0) return;
      this.dropOldest(heaviest);
    }
  }

  private drop(peer: Peer, flight: number, request: RemoteRequest): void {
    this.forget(peer, flight, request);
    if (!request.released) this.parts.cluster.releaseRemote(request.endpoint, request.load);
    this.parts.sessions.end(request.identity, request.startedMs, request.order);
    this.counts.dropped++;
  }

  private dropOldest(peer: Peer): void {
    const first = peer.inFlight.entries().next();
    if (!first.done) this.drop(peer, first.value[0], first.value[1]);
  }

  /**
   * Drops replicas not heard from for longer than the bound (their in-flight requests stop
   * counting) and requests older than `requestMaxMs`. Returns the replicas dropped.
   */
  expire(nowMs: number): string[] {
    const gone: string[] = [];
    for (const [id, peer] of this.peers) {
      if (nowMs - peer.lastHeardMs > this.settings.deadAfterMs) {
        for (const [flight, request] of peer.inFlight) this.drop(peer, flight, request);
        this.peers.delete(id);
        this.counts.dead++;
        gone.push(id);
        continue;
      }
      for (const [flight, request] of peer.inFlight) {
        if (nowMs - request.startedMs <= this.settings.requestMaxMs) break;
        this.drop(peer, flight, request);
      }
    }
    return gone;
  }
}
