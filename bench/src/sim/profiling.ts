// The profiler in the simulated cluster: the service's pass (profiler-pass) over the traces
// the router publishes, run at the service's pass period in virtual time; rebuilt models go
// straight into the gateway's registry, as the models bucket would deliver them.
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import type { Trace } from '../../../core/src/wire/trace.js';
import type { ModelRegistry } from '../../../core/src/workflow/model-registry.js';
import { ProfilerPass } from '../../../profiler/src/core/profiler-pass.js';
import type { LearningFigures } from './run-results.js';

export class SimProfiling {
  private readonly pass: ProfilerPass<null>;
  private promotedAtS: number | null = null;

  constructor(config: PythiaConfig) {
    this.pass = ProfilerPass.fromConfig<null>(config);
  }

  /** The service's pass period (sessions complete, and models rebuild, when the service's would). */
  get intervalMs(): number {
    return this.pass.serviceIntervalMs;
  }

  ingest(trace: Trace, nowMs: number): void {
    this.pass.core.ingest(trace, null, nowMs);
  }

  /** One pass at virtual time `nowMs`; rebuilt models are stamped `unixMs`. */
  run(nowMs: number, unixMs: number, registry: ModelRegistry): void {
    for (const rebuilt of this.pass.run(nowMs, { unixMs }).rebuilt ?? []) {
      registry.set(rebuilt.model);
      if (rebuilt.model.mode === 'proactive' && this.promotedAtS === null) this.promotedAtS = nowMs / 1000;
    }
  }

  /** The learned models' live scores, weighted by the sessions each scored. */
  figures(): LearningFigures {
    const scored = this.pass.core.models().filter((m) => m.sessions > 0);
    const sessions = scored.reduce((a, m) => a + m.sessions, 0);
    const mean = (f: (m: (typeof scored)[number]) => number) =>
      scored.length === 0 ? null : scored.reduce((a, m) => a + f(m) * m.sessions, 0) / sessions;
    return {
      nextAgentAccuracy: mean((m) => m.nextAgentAccuracy),
      outputBoundCoverage: mean((m) => m.outputBoundCoverage),
      promotedAtS: this.promotedAtS,
      learnedRegexes: Object.fromEntries(scored.map((m) => [m.workflow, m.regex])),
    };
  }
}

/** Without learning: no models, no scores. */
export const NO_LEARNING: LearningFigures = {
  nextAgentAccuracy: null,
  outputBoundCoverage: null,
  promotedAtS: null,
};
