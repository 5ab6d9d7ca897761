// An HTTP gateway built on the Envoy-faithful ext_proc client, for machines without Envoy:
// it serves what a client sends to the mesh (the OpenAI API), runs each request through
// ext_proc as Envoy would, routes it to the chosen endpoint and streams the answer back.
// The downstream side behaves as envoy/envoy.yaml makes Envoy behave: only /v1/ is routed
// (anything else is a 404, so no replica's /metrics or /health leaks through the gateway),
// `Expect: 100-continue` is answered by the gateway itself (Node sends the 100 before the
// body is read) and not forwarded, hop-by-hop headers such as `transfer-encoding` (chunked
// bodies) are dropped at the codec, and a body over the buffer limit is answered 413 by
// the gateway, as Envoy's BUFFERED ext_proc does.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { EnvoyExtProcClient } from './envoy-ext-proc-client.js';
import { forward, isHopByHop } from './forward.js';
import type { HeaderList } from './header-mutation.js';

/** envoy/envoy.yaml's per_connection_buffer_limit_bytes: ext_proc.max_body_bytes (8 MiB) + 512 KiB. */
export const DEFAULT_BUFFER_LIMIT_BYTES = 8 * 1024 * 1024 + 512 * 1024;

export interface GatewayOptions {
  readonly client: EnvoyExtProcClient;
  /** Envoy clusters (pool name -> endpoints), as in envoy.yaml. */
  readonly clusters: ReadonlyMap<string, readonly string[]>;
  /** The fail-open route's cluster. */
  readonly fallbackCluster: string;
  /** Answers GET /v1/models and /v1/models/{id} itself from these names (the pools' models). */
  readonly models: readonly string[];
  /** Largest request body buffered for ext_proc (Envoy's buffer limit); beyond, 413. */
  readonly bufferLimitBytes?: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function openAiError(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** The body, or null once it passed `limit` (the rest is read and discarded). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size <= limit) chunks.push(c as Buffer);
  }
  return size > limit ? null : Buffer.concat(chunks);
}

export class HttpGateway {
  private server: Server | null = null;
  private readonly created = Math.floor(Date.now() / 1000);
  port = 0;

  constructor(private readonly options: GatewayOptions) {}

  async start(port: number, host = '127.0.0.1'): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
  }

  /** GET /v1/models[/{id}] from the pools' models; false when the path is not one of them. */
  private answerModels(req: IncomingMessage, path: string, res: ServerResponse): boolean {
    if (req.method !== 'GET' || !path.startsWith('/v1/models')) return false;
    const model = (id: string) => ({ id, object: 'model', created: this.created, owned_by: 'pythia' });
    if (path === '/v1/models') {
      const data = this.options.models.map(model);
      res.writeHead(200, JSON_TYPE).end(JSON.stringify({ object: 'list', data }));
      return true;
    }
    if (!path.startsWith('/v1/models/')) return false;
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/models/'.length));
    } catch {
      id = '';
    }
    if (this.options.models.includes(id)) res.writeHead(200, JSON_TYPE).end(JSON.stringify(model(id)));
    else
      res
        .writeHead(404, JSON_TYPE)
        .end(
          openAiError(
            `The model '${id}' does not exist`,
            'invalid_request_error',
            'model_not_found',
            'model',
          ),
        );
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req, this.options.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES);
    if (this.answerModels(req, path, res)) return;
    if (!path.startsWith('/v1/')) {
      res
        .writeHead(404, JSON_TYPE)
        .end(openAiError(`no route for ${path}`, 'invalid_request_error', 'not_found'));
      return;
    }
    if (body === null) {
      // Envoy's own local reply when a buffering filter passes the limit.
      res.writeHead(413, { 'content-type': 'text/plain' }).end('Payload Too Large');
      return;
    }
    const headers: HeaderList = [
      [':method', req.method ?? 'GET'],
      [':path', req.url ?? '/'],
      [':authority', req.headers.host ?? 'gateway'],
      [':scheme', 'http'],
    ];
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === 'host' || k === 'expect' || isHopByHop(k) || v === undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) headers.push([k, value]);
    }
    let streamed = false;
    try {
      const result = await forward(
        this.options.client,
        headers,
        body,
        this.options.clusters,
        this.options.fallbackCluster,
        {
          head: (status, h) => {
            streamed = true;
            res.writeHead(status, Object.fromEntries(h));
          },
          chunk: (data) => res.write(data),
        },
      );
      if (streamed) res.end();
      else res.writeHead(result.status, Object.fromEntries(result.headers)).end(result.body);
    } catch (err) {
      if (!streamed) res.writeHead(502, JSON_TYPE);
      res.end(openAiError(`gateway error: ${(err as Error).message}`, 'bad_gateway', null));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
