// One NATS connection per service, opened in the background: services start and serve
// without NATS and pick it up when it comes (fail-open). Reconnects forever with jittered
// backoff; status changes are logged once each.
import { readFileSync } from 'node:fs';
import {
  type ConnectionOptions,
  type NatsConnection,
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
} from 'nats';
import type { NatsConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { retryWithBackoff } from './backoff.js';

export interface NatsSettings {
  readonly url: string;
  readonly name: string;
}

/** Connection options from configuration: credentials and TLS. Secrets never reach a log. */
export function natsAuthOptions(n: NatsConfig): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (n.user !== undefined && n.password !== undefined) {
    out.user = n.user;
    out.pass = n.password;
  }
  if (n.token !== undefined) out.token = n.token;
  if (n.creds_file !== undefined) out.authenticator = credsAuthenticator(readFileSync(n.creds_file));
  if (n.nkey_seed_file !== undefined) {
    out.authenticator = nkeyAuthenticator(
      new TextEncoder().encode(readFileSync(n.nkey_seed_file, 'utf8').trim()),
    );
  }
  if (n.tls) {
    out.tls = {
      ...(n.tls.ca_file ? { caFile: n.tls.ca_file } : {}),
      ...(n.tls.cert_file ? { certFile: n.tls.cert_file } : {}),
      ...(n.tls.key_file ? { keyFile: n.tls.key_file } : {}),
    };
  }
  return out;
}

export class NatsLink {
  private connection: NatsConnection | null = null;
  private readonly closing = new AbortController();
  private readonly waiters: Array<(nc: NatsConnection) => void> = [];
  /** True while connected (false during reconnects). */
  connected = false;

  constructor(
    private readonly settings: NatsSettings,
    private readonly log: Logger,
    private readonly extra: Partial<ConnectionOptions> = {},
  ) {
    void this.open();
  }

  private async open(): Promise<void> {
    // Only the first connection is ours to retry: the client reconnects it by itself after.
    await retryWithBackoff(
      async () => {
        const nc = await connect({
          servers: this.settings.url,
          name: this.settings.name,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          reconnectJitter: 250,
          pingInterval: 10_000,
          ...this.extra,
        });
        if (this.closing.signal.aborted) {
          await nc.close();
          return 'done';
        }
        this.connection = nc;
        this.connected = true;
        this.log.info({ server: nc.getServer() }, 'connected to NATS');
        void this.watchStatus(nc);
        for (const w of this.waiters.splice(0)) w(nc);
        return 'done';
      },
      {
        signal: this.closing.signal,
        onError: (err, retryMs) =>
          this.log.warn({ err, retry_ms: retryMs }, 'NATS unreachable; retrying in the background'),
      },
    );
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.log.warn({ server: status.data }, 'NATS disconnected; reconnecting');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.log.info({ server: status.data }, 'NATS reconnected');
      }
    }
  }

  /** The connection once established (waits while NATS is unreachable). */
  ready(): Promise<NatsConnection> {
    if (this.connection) return Promise.resolve(this.connection);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get current(): NatsConnection | null {
    return this.connection;
  }

  async close(): Promise<void> {
    this.closing.abort();
    const nc = this.connection;
    this.connection = null;
    if (nc) {
      // Drain (finish what is in flight) when connected, but never hang a shutdown on it.
      const drained = this.connected ? nc.drain().catch(() => undefined) : Promise.resolve();
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }
}
