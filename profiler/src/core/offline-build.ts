// Builds models from a recorded trace list, replaying time from the traces themselves:
// sessions complete on idle or end marker, and models are rebuilt periodically, so the
// reported accuracy and coverage are measured on sessions each model had not seen
// (shadow scoring), exactly as live.
import { ProfilerCore, type ProfilerCoreConfig } from './profiler-core.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';

export interface OfflineBuild {
  readonly models: WorkflowModel[];
  readonly modeChanges: Array<{ workflow: string; mode: string; atSession: number; reason: string }>;
  readonly rejected: ReadonlyMap<string, number>;
}

export function buildOffline(
  traces: readonly Trace[],
  config: ProfilerCoreConfig,
  rebuildEveryMs = 5000,
): OfflineBuild {
  const core = new ProfilerCore<null>(config);
  const ordered = [...traces].sort((a, b) => a.endUnixMs - b.endUnixMs);
  const modeChanges: OfflineBuild['modeChanges'] = [];
  let lastRebuild = ordered[0]?.endUnixMs ?? 0;
  const rebuild = (now: number) => {
    for (const r of core.rebuildDirty(now)) {
      if (r.modeChanged)
        modeChanges.push({
          workflow: r.model.workflow,
          mode: r.model.mode,
          atSession: r.model.sessions,
          reason: r.decision.reason,
        });
    }
  };
  for (const t of ordered) {
    core.ingest(t, null, t.endUnixMs);
    core.completeDue(t.endUnixMs);
    if (t.endUnixMs - lastRebuild >= rebuildEveryMs) {
      lastRebuild = t.endUnixMs;
      rebuild(t.endUnixMs);
    }
  }
  core.completeDue(Number.MAX_SAFE_INTEGER);
  rebuild(lastRebuild);
  return { models: core.models(), modeChanges, rejected: core.rejected };
}
