// The open-loop HTTP load driver: plays sessions through an OpenAI-compatible gateway with
// the three workflow headers, stages in order, parallel steps at once, tool time between
// stages (scaled), streaming responses with usage. Shared by bench:e2e and npm start.
import { quantile } from '../../../core/src/stats/quantile.js';
import { type Run, runText } from '../sim/token-streams.js';
import { type SessionPlan, stagesOf } from '../../../test-support/src/workloads/session-plan.js';

const MODEL = 'llama';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function emptyMeasured(): Measured {
  return {
    jctS: [],
    ttftS: [],
    outputTokens: 0,
    promptTokens: 0,
    cachedTokens: 0,
    firstStart: 0,
    lastEnd: 0,
    failures: 0,
  };
}

export interface Measured {
  jctS: number[];
  ttftS: number[];
  outputTokens: number;
  promptTokens: number;
  cachedTokens: number;
  firstStart: number;
  lastEnd: number;
  failures: number;
}

async function request(
  base: string,
  plan: SessionPlan,
  agent: string,
  messages: unknown[],
  maxTokens: number,
  last: boolean,
  m: Measured,
  timeScale: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const started = Date.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    ...(signal ? { signal } : {}),
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-pythia-workflow': plan.workflow,
      'x-pythia-session': plan.session,
      'x-pythia-agent': agent,
      ...(last ? { 'x-pythia-session-end': 'true' } : {}),
    },
    body: JSON.stringify({
      model: plan.model ?? MODEL,
      messages,
      max_tokens: maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) {
    m.failures++;
    await res.arrayBuffer().catch(() => undefined);
    return false;
  }
  let first = true;
  let text = '';
  for await (const chunk of res.body) {
    if (first) {
      m.ttftS.push(((Date.now() - started) / 1000) * timeScale);
      first = false;
    }
    text += Buffer.from(chunk).toString();
  }
  const usage =
    /"usage":\{"prompt_tokens":(\d+),"completion_tokens":(\d+),"total_tokens":\d+,"prompt_tokens_details":\{"cached_tokens":(\d+)\}/.exec(
      text,
    );
  if (usage) {
    m.promptTokens += Number(usage[1]);
    m.outputTokens += Number(usage[2]);
    m.cachedTokens += Number(usage[3]);
  }
  m.lastEnd = Math.max(m.lastEnd, Date.now());
  return true;
}

/** Plays one session; `signal` aborts it (its pending call rejects with an AbortError). */
export async function playSession(
  base: string,
  plan: SessionPlan,
  m: Measured,
  measured: boolean,
  timeScale: number,
  signal?: AbortSignal,
): Promise<void> {
  const arrival = Date.now();
  const history: Run[] = [];
  const stages = stagesOf(plan);
  for (const [i, steps] of stages.entries()) {
    const last = i === stages.length - 1;
    const done: Run[][] = [];
    await Promise.all(
      steps.map(async (step, k) => {
        const prefix: Run = { key: step.prefix, tokens: step.prefixTokens };
        const fresh: Run = { key: `${plan.session}:${i}.${k}:new`, tokens: step.newTokens };
        const runs = [prefix, ...(step.history ? history : []), fresh];
        const messages = [
          { role: 'system', content: runText(prefix) },
          { role: 'user', content: runs.slice(1).map(runText).join('') },
        ];
        await request(base, plan, step.agent, messages, step.outputTokens, last, m, timeScale, signal);
        done[k] = [fresh, { key: `${plan.session}:${i}.${k}:out`, tokens: step.outputTokens }];
      }),
    );
    for (const d of done) if (d) history.push(...d);
    const after = Math.max(0, ...steps.map((s) => s.afterS));
    signal?.throwIfAborted();
    if (!last && after > 0) await sleep((after * 1000) / timeScale);
  }
  if (measured) m.jctS.push(((Date.now() - arrival) / 1000) * timeScale);
}

export function summarize(m: Measured, timeScale: number) {
  const makespan = ((m.lastEnd - m.firstStart) / 1000) * timeScale || 1;
  return {
    jct_mean_s: +(m.jctS.reduce((a, b) => a + b, 0) / Math.max(1, m.jctS.length)).toFixed(2),
    jct_p50_s: +quantile(m.jctS, 0.5).toFixed(2),
    jct_p95_s: +quantile(m.jctS, 0.95).toFixed(2),
    ttft_p50_s: +quantile(m.ttftS, 0.5).toFixed(3),
    ttft_p95_s: +quantile(m.ttftS, 0.95).toFixed(3),
    output_tokens_per_s: +(m.outputTokens / makespan).toFixed(1),
    prefix_hit_rate: +(m.cachedTokens / Math.max(1, m.promptTokens)).toFixed(3),
    sessions_completed: m.jctS.length,
    failed_requests: m.failures,
  };
}
