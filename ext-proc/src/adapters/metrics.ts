// Prometheus metrics of the ext_proc service. Labels stay low-cardinality: pools and
// endpoints come from configuration, never from clients; no session ids, and workflow names
// only on flow control's queue metrics and only learned ones (bounded by profiler.limits).
import type { FlowEvents } from '../core/flow-control/flow-controller.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics as addProcessMetrics } from '../../../common/src/process-metrics.js';
import type { PythiaError } from '../../../core/src/errors.js';
import type { IdentifierRejection } from '../../../core/src/workflow/identifiers.js';
import type { StreamEvents } from '../core/envoy/stream-processor.js';
import type { CompletedRequest } from '../core/routing/completed-request.js';
import type { RouteDecision } from '../core/routing/route-decision.js';
import type { WarmOutcome } from '../core/routing/warm-planner.js';

export class ExtProcMetrics implements StreamEvents {
  readonly registry = new Registry();
  readonly streamsActive = new Gauge({
    name: 'pythia_ext_proc_streams_active',
    help: 'ext_proc streams currently open',
    registers: [this.registry],
  });
  readonly streamsTotal = new Counter({
    name: 'pythia_ext_proc_streams_total',
    help: 'ext_proc streams opened',
    registers: [this.registry],
  });
  readonly passThroughTotal = new Counter({
    name: 'pythia_ext_proc_pass_through_total',
    help: 'Requests passed through without routing, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly decisionsTotal = new Counter({
    name: 'pythia_ext_proc_decisions_total',
    help: 'Routing decisions by pool, endpoint and scheduling profile',
    labelNames: ['pool', 'endpoint', 'profile'],
    registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: 'pythia_ext_proc_decision_duration_seconds',
    help: 'Time to parse the body and choose an endpoint',
    buckets: [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
    registers: [this.registry],
  });
  readonly errorsTotal = new Counter({
    name: 'pythia_ext_proc_errors_total',
    help: 'Requests answered locally with an error, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly spoofedTotal = new Counter({
    name: 'pythia_ext_proc_spoofed_headers_stripped_total',
    help: 'Client-supplied copies of headers only the gateway may set, removed',
    labelNames: ['header'],
    registers: [this.registry],
  });
  readonly invalidIdentifiersTotal = new Counter({
    name: 'pythia_ext_proc_invalid_identifiers_total',
    help: 'Workflow identifiers ignored as invalid, by identifier and problem',
    labelNames: ['identifier', 'problem'],
    registers: [this.registry],
  });
  readonly identityTotal = new Counter({
    name: 'pythia_ext_proc_identity_total',
    help: 'Routed LLM requests by where their workflow identity came from',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly completedTotal = new Counter({
    name: 'pythia_ext_proc_requests_completed_total',
    help: 'Routed requests that ended, by pool and status',
    labelNames: ['pool', 'status'],
    registers: [this.registry],
  });
  readonly outputTokensTotal = new Counter({
    name: 'pythia_ext_proc_output_tokens_total',
    help: 'Output tokens counted from responses, by pool and source (reported by the upstream or estimated)',
    labelNames: ['pool', 'source'],
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'pythia_ext_proc_request_duration_seconds',
    help: 'Time from request headers to the end of the response, for routed requests',
    labelNames: ['pool'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly tracesPublishedTotal = new Counter({
    name: 'pythia_ext_proc_traces_published_total',
    help: 'Completed-request traces stored in the NATS traces stream',
    registers: [this.registry],
  });
  readonly tracesDroppedTotal = new Counter({
    name: 'pythia_ext_proc_traces_dropped_total',
    help: 'Completed-request traces dropped because the buffer for NATS was full',
    registers: [this.registry],
  });
  readonly traceBuffer = new Gauge({
    name: 'pythia_ext_proc_trace_buffer_records',
    help: 'Traces waiting to be published to NATS',
    registers: [this.registry],
  });
  readonly modelUpdatesTotal = new Counter({
    name: 'pythia_ext_proc_model_updates_total',
    help: 'Workflow models loaded from the models bucket, by mode',
    labelNames: ['mode'],
    registers: [this.registry],
  });
  readonly modelsRejectedTotal = new Counter({
    name: 'pythia_ext_proc_models_rejected_total',
    help: 'Model entries that could not be decoded',
    registers: [this.registry],
  });
  readonly trackedSessions = new Gauge({
    name: 'pythia_ext_proc_tracked_sessions',
    help: 'Live sessions whose stage history this replica keeps',
    registers: [this.registry],
  });
  readonly natsConnected = new Gauge({
    name: 'pythia_ext_proc_nats_connected',
    help: '1 while connected to NATS',
    registers: [this.registry],
  });
  readonly warmTotal = new Counter({
    name: 'pythia_ext_proc_warm_requests_total',
    help: 'Cache-manager decisions and warm requests, by result (sent, ok, failed, or why skipped)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly reservationsTotal = new Counter({
    name: 'pythia_ext_proc_warm_reservations_total',
    help: 'Next-agent requests of sessions with a reserved (warmed) endpoint, by whether they landed there',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly scrapesTotal = new Counter({
    name: 'pythia_ext_proc_endpoint_scrapes_total',
    help: 'Model-server metric scrapes, by pool and result',
    labelNames: ['pool', 'result'],
    registers: [this.registry],
  });
  readonly endpointHealthy = new Gauge({
    name: 'pythia_ext_proc_endpoint_healthy',
    help: '1 while an endpoint receives traffic, 0 after failed scrapes',
    labelNames: ['pool', 'endpoint'],
    registers: [this.registry],
  });
  readonly messageSeconds = new Histogram({
    name: 'pythia_ext_proc_message_duration_seconds',
    help: 'Time from reading an ext_proc message to writing its answers (Envoy allows 200 ms)',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.5],
    registers: [this.registry],
  });
  readonly connectionsRecycledTotal = new Counter({
    name: 'pythia_ext_proc_connections_recycled_total',
    help: 'gRPC connections sent a graceful GOAWAY after ext_proc.max_streams_per_connection streams',
    registers: [this.registry],
  });
  readonly streamErrorsTotal = new Counter({
    name: 'pythia_ext_proc_stream_errors_total',
    help: 'ext_proc streams that failed other than by the normal end-and-cancel close, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  readonly flowQueued = new Gauge({
    name: 'pythia_ext_proc_flow_queued_requests',
    help: 'Requests flow control holds now, by pool and workflow (learned workflows; others "other", none "none")',
    labelNames: ['pool', 'workflow'],
    registers: [this.registry],
  });
  readonly flowWaitSeconds = new Histogram({
    name: 'pythia_ext_proc_flow_wait_seconds',
    help: 'Time a request was held by flow control before it was released, shed or cancelled, by pool and workflow',
    labelNames: ['pool', 'workflow'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly flowReleasesTotal = new Counter({
    name: 'pythia_ext_proc_flow_releases_total',
    help: 'Requests flow control let through, by pool and reason (immediate, preferred, equivalent, fallback, head)',
    labelNames: ['pool', 'reason'],
    registers: [this.registry],
  });
  readonly flowShedTotal = new Counter({
    name: 'pythia_ext_proc_flow_shed_total',
    help: 'Requests flow control answered 429, by pool and reason (queue_full, queue_bytes, ttl, route_error)',
    labelNames: ['pool', 'reason'],
    registers: [this.registry],
  });
  readonly flowCancelledTotal = new Counter({
    name: 'pythia_ext_proc_flow_cancelled_total',
    help: 'Held requests whose client went away, by pool',
    labelNames: ['pool'],
    registers: [this.registry],
  });

  readonly replicaEventsTotal = new Counter({
    name: 'pythia_ext_proc_replica_events_total',
    help: 'Live-session events exchanged with the other ext-proc replicas, by direction and kind',
    labelNames: ['direction', 'kind'],
    registers: [this.registry],
  });
  readonly replicaEventBytesTotal = new Counter({
    name: 'pythia_ext_proc_replica_event_bytes_total',
    help: 'Bytes of live-session events exchanged with the other ext-proc replicas, by direction',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly replicaStalenessSeconds = new Histogram({
    name: 'pythia_ext_proc_replica_event_staleness_seconds',
    help: 'From another replica sending a live event to this replica applying it',
    buckets: [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
    registers: [this.registry],
  });
  readonly replicaPeers = new Gauge({
    name: 'pythia_ext_proc_replica_peers',
    help: 'Other ext-proc replicas counting now (heard from within ext_proc.replicas.dead_after_ms)',
    registers: [this.registry],
  });
  readonly replicaRemoteInFlight = new Gauge({
    name: 'pythia_ext_proc_replica_remote_in_flight',
    help: "The other replicas' requests in flight, as this replica folds them",
    registers: [this.registry],
  });
  readonly replicaLostTotal = new Counter({
    name: 'pythia_ext_proc_replica_lost_total',
    help: 'Replica events missed (gap) and in-flight requests dropped (their replica stopped counting)',
    labelNames: ['what'],
    registers: [this.registry],
  });
  constructor(collectProcessMetrics = true) {
    if (collectProcessMetrics) addProcessMetrics(this.registry);
  }

  published(n: number): void {
    this.tracesPublishedTotal.inc(n);
  }
  dropped(n: number): void {
    this.tracesDroppedTotal.inc(n);
  }
  buffered(n: number): void {
    this.traceBuffer.set(n);
  }
  modelUpdated(_workflow: string, mode: string): void {
    this.modelUpdatesTotal.inc({ mode });
  }
  modelRejected(): void {
    this.modelsRejectedTotal.inc();
  }

  warm(outcome: WarmOutcome): void {
    this.warmTotal.inc({ result: outcome.kind === 'warm' ? 'sent' : outcome.reason });
  }
  warmFinished(ok: boolean): void {
    this.warmTotal.inc({ result: ok ? 'ok' : 'failed' });
  }
  reservation(hit: boolean): void {
    this.reservationsTotal.inc({ result: hit ? 'hit' : 'miss' });
  }
  scraped(pool: string, endpoint: string, ok: boolean, healthy: boolean): void {
    this.scrapesTotal.inc({ pool, result: ok ? 'ok' : 'error' });
    this.endpointHealthy.set({ pool, endpoint }, healthy ? 1 : 0);
  }

  /** Flow control's events (FlowEvents). */
  readonly flow: FlowEvents = {
    held: (pool, workflow) => this.flowQueued.inc({ pool, workflow }),
    released: (pool, workflow, reason, waitS) => {
      this.flowReleasesTotal.inc({ pool, reason });
      if (reason === 'immediate') return;
      this.flowQueued.dec({ pool, workflow });
      this.flowWaitSeconds.observe({ pool, workflow }, waitS);
    },
    shed: (pool, workflow, reason, waitS) => {
      this.flowShedTotal.inc({ pool, reason });
      // Shed at admission (a bound): it was never held.
      if (reason === 'queue_full' || reason === 'queue_bytes') return;
      this.flowQueued.dec({ pool, workflow });
      this.flowWaitSeconds.observe({ pool, workflow }, waitS);
    },
    cancelled: (pool, workflow, waitS) => {
      this.flowCancelledTotal.inc({ pool });
      this.flowQueued.dec({ pool, workflow });
      this.flowWaitSeconds.observe({ pool, workflow }, waitS);
    },
  };

  spoofedHeader(name: string): void {
    this.spoofedTotal.inc({ header: name });
  }
  invalidIdentifier(rejection: IdentifierRejection): void {
    this.invalidIdentifiersTotal.inc({ identifier: rejection.name, problem: rejection.problem });
  }
  identityResolved(source: string): void {
    this.identityTotal.inc({ source });
  }
  passThrough(reason: string): void {
    this.passThroughTotal.inc({ reason });
  }
  decided(decision: RouteDecision, seconds: number): void {
    this.decisionsTotal.inc({ pool: decision.pool, endpoint: decision.endpoint, profile: decision.profile });
    this.decisionSeconds.observe(seconds);
  }
  outOfOrder(kind: string): void {
    this.streamErrorsTotal.inc({ reason: `out_of_order_${kind}` });
  }
  rejected(error: PythiaError): void {
    this.errorsTotal.inc({ kind: error.kind });
  }
  completed(record: CompletedRequest): void {
    this.completedTotal.inc({ pool: record.pool, status: record.status });
    this.outputTokensTotal.inc(
      { pool: record.pool, source: record.usage.reported ? 'reported' : 'estimated' },
      record.usage.outputTokens,
    );
    this.requestSeconds.observe({ pool: record.pool }, record.totalMs / 1000);
  }
}
