// Turns session plans into trace records with plausible timing, without a GPU simulator:
// each request takes a fixed first-token delay plus its output at a fixed decode rate.
// Used to test and demonstrate the profiler on generated workloads; the bench's simulator
// produces real timing instead.
import type { Trace } from '../../../core/src/wire/trace.js';
import { SessionHistory, type SessionPlan, stagesOf } from './session-plan.js';

export interface SynthesisOptions {
  readonly firstTokenS: number;
  readonly tokensPerS: number;
  /** Unix ms of t=0. */
  readonly epochMs: number;
}

export const DEFAULT_SYNTHESIS: SynthesisOptions = {
  firstTokenS: 0.05,
  tokensPerS: 80,
  epochMs: 1_790_000_000_000,
};

export function synthesizeTraces(
  plans: readonly SessionPlan[],
  options: SynthesisOptions = DEFAULT_SYNTHESIS,
): Trace[] {
  const traces: Trace[] = [];
  for (const plan of plans) {
    let t = plan.arrivalS;
    const history = new SessionHistory<number>();
    let n = 0;
    const stages = stagesOf(plan);
    stages.forEach((steps, stageIndex) => {
      let stageEnd = t;
      let maxAfter = 0;
      for (const s of steps) {
        const prompt = s.prefixTokens + history.context(s).reduce((a, b) => a + b, 0) + s.newTokens;
        const duration = options.firstTokenS + s.outputTokens / options.tokensPerS;
        const start = options.epochMs + t * 1000;
        traces.push({
          requestId: `${plan.session}-${n}`,
          exchange: `${plan.session}-${n++}`, // read after requestId: the same number
          workflow: plan.workflow,
          session: plan.session,
          agent: s.agent,
          model: s.model ?? plan.model ?? 'model',
          pool: 'pool',
          endpoint: '127.0.0.1:8000',
          promptTokens: prompt,
          cachedTokens: null,
          outputTokens: s.outputTokens,
          outputTokensReported: true,
          queueMs: 0,
          firstTokenMs: options.firstTokenS * 1000,
          totalMs: duration * 1000,
          startUnixMs: start,
          endUnixMs: start + duration * 1000,
          status: 'OK',
          httpStatus: 200,
          promptBytes: prompt * 4,
          sessionEnd: stageIndex === stages.length - 1,
          predictedAgent: '',
          predictedOutputTokens: 0,
          mode: '',
        });
        stageEnd = Math.max(stageEnd, t + duration);
        maxAfter = Math.max(maxAfter, s.afterS);
      }
      for (const s of steps) history.record(s, s.newTokens, s.outputTokens);
      t = stageEnd + maxAfter;
    });
  }
  return traces.sort((a, b) => a.endUnixMs - b.endUnixMs);
}
