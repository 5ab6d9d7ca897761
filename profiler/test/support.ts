import type { ProfilerCoreConfig } from '../src/core/profiler-core.js';

export const CORE_CONFIG: ProfilerCoreConfig = {
  sessionIdleMs: 60_000,
  endGraceMs: 0,
  rareTransitionThreshold: 0.05,
  outputQuantile: 0.99,
  maxSessionsKept: 2000,
  sessionsKeptBytes: 4 * 1024 * 1024,
  sampleCapacity: 2000,
  maxWorkflows: 100,
  maxAgentsPerWorkflow: 32,
  nameHalfLifeMs: 3_600_000,
  maxOpenSessions: 10_000,
  maxRequestsPerSession: 500,
  dedupeCapacity: 100_000,
  maxIdentifierLength: 128,
  promotion: {
    minSessions: 20,
    minScored: 30,
    promoteAccuracy: 0.7,
    promoteCoverage: 0.9,
    demoteAccuracy: 0.5,
    demoteCoverage: 0.8,
    window: 300,
    maxOffModelShare: 0.2,
  },
};
