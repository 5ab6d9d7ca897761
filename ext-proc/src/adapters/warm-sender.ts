// Sends the cache manager's warm requests: an ordinary OpenAI chat completion with
// max_tokens 1 to the chosen endpoint, which makes vLLM or SGLang prefill (and cache) the
// prompt prefix. The prompt is never logged.
import type { Logger } from '../../../common/src/logger.js';
import { type WarmPlan, type WarmPlanner, warmBody } from '../core/routing/warm-planner.js';

export interface WarmMetrics {
  warmFinished(ok: boolean): void;
}

export class HttpWarmSender {
  private stopped = false;

  constructor(
    private readonly planner: WarmPlanner,
    private readonly timeoutMs: number,
    private readonly metrics: WarmMetrics,
    private readonly log: Logger,
  ) {}

  send(plan: WarmPlan): void {
    if (this.stopped) {
      this.planner.done(plan.endpoint);
      return;
    }
    void fetch(`http://${plan.endpoint}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pythia-warm': '1' },
      body: warmBody(plan),
      signal: AbortSignal.timeout(this.timeoutMs),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        this.metrics.warmFinished(res.ok);
        if (!res.ok) this.log.debug({ endpoint: plan.endpoint, status: res.status }, 'warm request refused');
      })
      .catch((err: unknown) => {
        this.metrics.warmFinished(false);
        this.log.debug({ err, endpoint: plan.endpoint }, 'warm request failed');
      })
      .finally(() => this.planner.done(plan.endpoint));
  }

  stop(): void {
    this.stopped = true;
  }
}
