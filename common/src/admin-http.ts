// The admin HTTP server every service runs: Prometheus metrics, liveness, readiness,
// plus service-specific JSON routes (the profiler's /v1/models, for example).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export type AdminRoute = (req: IncomingMessage, url: URL) => { status: number; body: unknown } | undefined;

export interface AdminServerOptions {
  readonly registry: Registry;
  /** Why the service is not ready, or null when it is. */
  readonly notReadyReason: () => string | null;
  readonly routes?: Readonly<Record<string, AdminRoute>>;
  readonly log: Logger;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createAdminServer(options: AdminServerOptions): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/metrics':
        options.registry.metrics().then(
          (text) => send(res, 200, options.registry.contentType, text),
          (err: unknown) => {
            options.log.error({ err }, 'metrics collection failed');
            send(res, 500, 'text/plain', 'metrics collection failed\n');
          },
        );
        return;
      case '/healthz':
        send(res, 200, 'text/plain', 'ok\n');
        return;
      case '/readyz': {
        const reason = options.notReadyReason();
        if (reason === null) send(res, 200, 'text/plain', 'ready\n');
        else send(res, 503, 'text/plain', `not ready: ${reason}\n`);
        return;
      }
      default: {
        const route = options.routes?.[url.pathname];
        const answer = route?.(req, url);
        if (answer) send(res, answer.status, 'application/json', JSON.stringify(answer.body));
        else send(res, 404, 'text/plain', 'not found\n');
      }
    }
  });
}

/** Listens on host:port; resolves with the bound port (useful with port 0). */
export function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
