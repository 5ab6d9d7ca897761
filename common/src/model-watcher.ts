// Watches the models bucket and hot-reloads every workflow model into the registry. The
// watch is re-established after NATS outages; until the first model arrives, workflows are
// simply routed reactively.

import type { Logger } from './logger.js';
import type { NatsLink } from './nats/connection.js';
import { decodeToken } from '../../core/src/wire/subjects.js';
import { modelBucket } from './nats/setup.js';
import { decodeModel } from '../../core/src/wire/codec.js';
import type { ModelRegistry } from '../../core/src/workflow/model-registry.js';

export interface ModelWatcherMetrics {
  modelUpdated(workflow: string, mode: string): void;
  modelRejected(): void;
}

export class ModelWatcher {
  private stopped = false;
  private stopWatch: (() => void) | null = null;

  constructor(
    private readonly link: NatsLink,
    private readonly registry: ModelRegistry,
    private readonly metrics: ModelWatcherMetrics,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  private async run(): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      try {
        const nc = await this.link.ready();
        const kv = await modelBucket(nc);
        const watch = await kv.watch();
        this.stopWatch = () => watch.stop();
        delay = 250;
        for await (const entry of watch) {
          const workflow = decodeToken(entry.key);
          if (entry.operation !== 'PUT') {
            this.registry.delete(workflow);
            continue;
          }
          try {
            const model = decodeModel(entry.value);
            if (this.registry.set(model)) {
              this.metrics.modelUpdated(model.workflow, model.mode);
              this.log.info(
                { workflow: model.workflow, version: model.version, mode: model.mode },
                'workflow model loaded',
              );
            }
          } catch (err) {
            this.metrics.modelRejected();
            this.log.warn({ err, key: entry.key }, 'ignoring an unreadable model');
          }
        }
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err, retry_ms: delay }, 'model watch interrupted; retrying');
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }
}
