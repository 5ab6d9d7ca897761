// Watches the models bucket and hot-reloads every workflow model into the registry. The
// watch is re-established after NATS outages; until the first model arrives, workflows are
// simply routed reactively.

import type { Logger } from './logger.js';
import type { NatsLink } from './nats/connection.js';
import { retryWithBackoff } from './nats/backoff.js';
import { modelBucket } from './nats/setup.js';
import { WORKFLOW_MODELS } from '../../core/src/wire/channels.js';
import type { ModelRegistry } from '../../core/src/workflow/model-registry.js';

export interface ModelWatcherMetrics {
  modelUpdated(workflow: string, mode: string): void;
  modelRejected(): void;
}

export class ModelWatcher {
  private readonly stopping = new AbortController();
  private stopWatch: (() => void) | null = null;

  constructor(
    private readonly link: NatsLink,
    private readonly registry: ModelRegistry,
    private readonly metrics: ModelWatcherMetrics,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  private run(): Promise<void> {
    return retryWithBackoff(
      async (healthy) => {
        const nc = await this.link.ready();
        const kv = await modelBucket(nc);
        const watch = await kv.watch();
        this.stopWatch = () => watch.stop();
        healthy();
        for await (const entry of watch) this.take(entry.key, entry.operation, entry.value);
        return 'again';
      },
      {
        signal: this.stopping.signal,
        onError: (err, retryMs) =>
          this.log.warn({ err, retry_ms: retryMs }, 'model watch interrupted; retrying'),
      },
    );
  }

  private take(key: string, operation: string, value: Uint8Array): void {
    const workflow = WORKFLOW_MODELS.workflowOf(key);
    if (operation !== 'PUT') {
      this.registry.delete(workflow);
      return;
    }
    try {
      const model = WORKFLOW_MODELS.decode(value);
      if (this.registry.set(model)) {
        this.metrics.modelUpdated(model.workflow, model.mode);
        this.log.info(
          { workflow: model.workflow, version: model.version, mode: model.mode },
          'workflow model loaded',
        );
      }
    } catch (err) {
      this.metrics.modelRejected();
      this.log.warn({ err, key }, 'ignoring an unreadable model');
    }
  }

  stop(): void {
    this.stopping.abort();
    this.stopWatch?.();
  }
}
