// An HTTP gateway built on the Envoy-faithful ext_proc client, for machines without Envoy:
// it serves what a client sends to the mesh (the OpenAI API), runs each request through
// ext_proc as Envoy would, routes it to the chosen endpoint and streams the answer back.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { EnvoyExtProcClient } from './envoy-ext-proc-client.js';
import { forward } from './forward.js';
import type { HeaderList } from './header-mutation.js';

export interface GatewayOptions {
  readonly client: EnvoyExtProcClient;
  /** Envoy clusters (pool name -> endpoints), as in envoy.yaml. */
  readonly clusters: ReadonlyMap<string, readonly string[]>;
  /** The fail-open route's cluster. */
  readonly fallbackCluster: string;
  /** Answers GET /v1/models itself from these names (the pools' models). */
  readonly models: readonly string[];
}

export class HttpGateway {
  private server: Server | null = null;
  port = 0;

  constructor(private readonly options: GatewayOptions) {}

  async start(port: number, host = '127.0.0.1'): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'GET' && req.url === '/v1/models') {
      const data = this.options.models.map((id) => ({ id, object: 'model', owned_by: 'pythia' }));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ object: 'list', data }));
      return;
    }
    const headers: HeaderList = [
      [':method', req.method ?? 'GET'],
      [':path', req.url ?? '/'],
      [':authority', req.headers.host ?? 'gateway'],
      [':scheme', 'http'],
    ];
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === 'host' || v === undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) headers.push([k, value]);
    }
    let streamed = false;
    try {
      const result = await forward(
        this.options.client,
        headers,
        Buffer.concat(chunks),
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
      if (!streamed) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: `gateway error: ${(err as Error).message}`, type: 'bad_gateway' },
        }),
      );
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
