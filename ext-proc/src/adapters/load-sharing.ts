// Shares this replica's in-flight load per endpoint with the other ext-proc replicas over
// core NATS, and folds theirs into the cluster state. Staleness is bounded: a replica's
// report counts for `stale_after_ms` after it was received, then it is dropped (a replica
// that died stops counting within that bound).
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'nats';
import type { SchedulerConfig } from '../../../common/src/config/schema.js';
import type { Logger } from '../../../common/src/logger.js';
import type { NatsLink } from '../../../common/src/nats/connection.js';
import { LOAD_REPORTS } from '../../../core/src/wire/channels.js';
import type { LoadReport } from '../../../core/src/wire/codec.js';
import type { ClusterState } from '../../../core/src/cluster/cluster-state.js';

export class LoadSharing {
  readonly replica = randomUUID();
  private readonly reports = new Map<string, { report: LoadReport; receivedMs: number }>();
  private readonly timer: NodeJS.Timeout;
  private subscription: Subscription | null = null;
  private stopped = false;

  constructor(
    private readonly link: NatsLink,
    private readonly cluster: ClusterState,
    private readonly settings: SchedulerConfig['load_sharing'],
    private readonly log: Logger,
    /** Unix milliseconds; tests move their own clock to age reports. */
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.tick(), settings.interval_ms);
    this.timer.unref();
    void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const nc = await this.link.ready();
    if (this.stopped) return;
    this.subscription = nc.subscribe(LOAD_REPORTS.subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const report = LOAD_REPORTS.decode(msg.data);
          if (report.replica !== this.replica)
            this.reports.set(report.replica, { report, receivedMs: this.now() });
        } catch (e) {
          this.log.debug({ err: e }, 'ignoring an unreadable load report');
        }
      },
    });
  }

  private tick(): void {
    const nc = this.link.current;
    if (nc && this.link.connected) {
      const endpoints = [...this.cluster.allEndpoints()]
        .filter((ep) => ep.local.inFlight > 0)
        .map((ep) => ({
          address: ep.address,
          inFlight: ep.local.inFlight,
          reservedTokens: ep.local.reservedTokens,
          overflowSum: ep.local.overflowSum,
          decodeTokens: ep.local.decodeTokens,
        }));
      try {
        nc.publish(
          LOAD_REPORTS.subject,
          LOAD_REPORTS.encode({ replica: this.replica, unixMs: this.now(), endpoints }),
        );
      } catch (err) {
        this.log.debug({ err }, 'load report not sent');
      }
    }
    this.fold(this.now());
  }

  /** Recomputes every endpoint's remote figures from the fresh reports. */
  fold(nowMs: number): void {
    for (const ep of this.cluster.allEndpoints()) {
      ep.remote.inFlight = 0;
      ep.remote.reservedTokens = 0;
      ep.remote.overflowSum = 0;
      ep.remote.decodeTokens = 0;
    }
    for (const [replica, { report, receivedMs }] of this.reports) {
      if (nowMs - receivedMs > this.settings.stale_after_ms) {
        this.reports.delete(replica);
        continue;
      }
      for (const e of report.endpoints) {
        const ep = this.cluster.endpoint(e.address);
        if (!ep) continue;
        ep.remote.inFlight += e.inFlight;
        ep.remote.reservedTokens += e.reservedTokens;
        ep.remote.overflowSum += e.overflowSum;
        ep.remote.decodeTokens += e.decodeTokens;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
  }
}
