import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics as addProcessMetrics } from '../../../common/src/process-metrics.js';

export class ProfilerMetrics {
  readonly registry = new Registry();
  readonly tracesTotal = new Counter({
    name: 'pythia_profiler_traces_total',
    help: 'Trace records consumed, by result (accepted, or the rejection reason)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly sessionsCompletedTotal = new Counter({
    name: 'pythia_profiler_sessions_completed_total',
    help: 'Sessions learned from, by how they completed (idle, end_marker, evicted)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly openSessions = new Gauge({
    name: 'pythia_profiler_open_sessions',
    help: 'Sessions with traces that have not completed yet',
    registers: [this.registry],
  });
  readonly workflows = new Gauge({
    name: 'pythia_profiler_workflows',
    help: 'Workflow types with a model, by mode',
    labelNames: ['mode'],
    registers: [this.registry],
  });
  readonly rebuildSeconds = new Histogram({
    name: 'pythia_profiler_model_rebuild_duration_seconds',
    help: 'Time to rebuild one workflow model',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly modeChangesTotal = new Counter({
    name: 'pythia_profiler_mode_changes_total',
    help: 'Workflow promotions (to=proactive) and demotions (to=shadow)',
    labelNames: ['to'],
    registers: [this.registry],
  });
  readonly publishErrorsTotal = new Counter({
    name: 'pythia_profiler_publish_errors_total',
    help: 'Failed writes of models or session summaries to NATS',
    labelNames: ['what'],
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'pythia_profiler_leader',
    help: '1 while this replica holds the profiler lease (consumes traces, stores sessions), 0 on standby',
    registers: [this.registry],
  });
  readonly sessionsDuplicateTotal = new Counter({
    name: 'pythia_profiler_sessions_duplicate_total',
    help: 'Completed sessions found already stored (a replay after a crash or takeover), not learned again',
    registers: [this.registry],
  });
  readonly sessionsAwaitingStore = new Gauge({
    name: 'pythia_profiler_sessions_awaiting_store',
    help: 'Completed sessions whose summary is not stored yet (retried every pass; traces unacknowledged)',
    registers: [this.registry],
  });
  readonly modelsRetractedTotal = new Counter({
    name: 'pythia_profiler_models_retracted_total',
    help: 'Published models deleted because their workflow was forgotten (idle, byte bound, a stronger name)',
    registers: [this.registry],
  });
  readonly tableEntries = new Gauge({
    name: 'pythia_profiler_table_entries',
    help: 'Entries of each bounded table (open, seenIds, storedSpans, learners)',
    labelNames: ['table'],
    registers: [this.registry],
  });
  readonly tableBytes = new Gauge({
    name: 'pythia_profiler_table_bytes',
    help: 'Estimated bytes (overhead included) of each bounded table',
    labelNames: ['table'],
    registers: [this.registry],
  });

  constructor(collectProcessMetrics = true) {
    if (collectProcessMetrics) addProcessMetrics(this.registry);
  }
}
