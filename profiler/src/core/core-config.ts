// The profiler core's settings from the configuration's `profiler:` section (service, CLI, bench).
import type { ProfilerConfig } from '../../../common/src/config/schema.js';
import type { ProfilerCoreConfig } from './profiler-core.js';

export function coreConfigFrom(p: ProfilerConfig, maxIdentifierLength: number): ProfilerCoreConfig {
  return {
    sessionIdleMs: p.session_idle_s * 1000,
    endGraceMs: p.end_grace_s * 1000,
    rareTransitionThreshold: p.rare_transition_threshold,
    outputQuantile: p.output_quantile,
    maxSessionsKept: p.limits.max_sessions_kept,
    sessionsKeptBytes: p.limits.sessions_kept_budget_bytes,
    sampleCapacity: p.limits.sample_capacity,
    maxWorkflows: p.limits.max_workflows,
    maxAgentsPerWorkflow: p.limits.max_agents_per_workflow,
    nameHalfLifeMs: p.limits.name_half_life_s * 1000,
    nameIdleMs: p.limits.name_idle_s * 1000,
    learnersBytes: p.limits.learners_budget_bytes,
    openSessionsBytes: p.limits.open_sessions_budget_bytes,
    dedupeBytes: p.limits.dedupe_budget_bytes,
    dedupeIdleMs: p.limits.dedupe_idle_s * 1000,
    maxOpenSessions: p.limits.max_open_sessions,
    maxRequestsPerSession: p.limits.max_requests_per_session,
    dedupeCapacity: p.limits.dedupe_capacity,
    maxIdentifierLength,
    promotion: {
      minSessions: p.promotion.min_sessions,
      minScored: p.promotion.min_scored,
      promoteAccuracy: p.promotion.promote_accuracy,
      promoteCoverage: p.promotion.promote_coverage,
      demoteAccuracy: p.promotion.demote_accuracy,
      demoteCoverage: p.promotion.demote_coverage,
      window: p.promotion.window,
      maxOffModelShare: p.promotion.max_off_model_share,
    },
  };
}
