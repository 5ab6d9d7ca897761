// One HTTP request through an Envoy-like gateway built on the Envoy-faithful ext_proc
// client: request side through ext_proc, the route and host picked the way our
// envoy.yaml makes Envoy pick them (cluster from x-pythia-cluster after the route-cache
// clear; host from envoy.lb metadata, else the header, if it belongs to the cluster, else
// the cluster's first host), the upstream called over HTTP, and the response through
// ext_proc. Used by tests, the e2e bench and the demo gateway.
import type { EnvoyExtProcClient, RequestOutcome } from './envoy-ext-proc-client.js';
import { routedCluster } from './envoy-ext-proc-client.js';
import { getHeader, type HeaderList } from './header-mutation.js';

// Connection-level headers: Envoy's codec consumes them on one hop and never forwards them
// (RFC 9110 7.6.1); `transfer-encoding: chunked` is how a chunked body arrived, not part
// of the request. (fetch refuses most of them outright.)
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

export interface ForwardResult {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: Buffer;
  /** What ext_proc decided (the request as it went upstream, or the local reply). */
  readonly request: RequestOutcome;
  /** The host the request was sent to, when it was sent. */
  readonly upstream: string | null;
  /** The ext_proc cluster host its stream went to. */
  readonly extProcHost: string;
}

export function pickHost(
  outcome: RequestOutcome,
  original: HeaderList,
  clusters: ReadonlyMap<string, readonly string[]>,
  fallbackCluster: string,
): string | null {
  if (outcome.kind !== 'continue') return null;
  const cluster = routedCluster(original, outcome, 'x-pythia-cluster') ?? fallbackCluster;
  const hosts = clusters.get(cluster) ?? [];
  const lb = outcome.dynamicMetadata['envoy.lb']?.['x-gateway-destination-endpoint'];
  const wanted = [
    ...(typeof lb === 'string' ? lb.split(',') : []),
    ...(getHeader(outcome.headers, 'x-gateway-destination-endpoint') ?? '').split(','),
  ].filter((h) => h !== '');
  return wanted.find((h) => hosts.includes(h)) ?? hosts[0] ?? null;
}

/** Receives the response as it streams (what a downstream client would see). */
export interface ResponseSink {
  head(status: number, headers: HeaderList): void;
  chunk(data: Buffer): void;
}

export async function forward(
  client: EnvoyExtProcClient,
  headers: HeaderList,
  body: Buffer,
  clusters: ReadonlyMap<string, readonly string[]>,
  fallbackCluster: string,
  sink?: ResponseSink,
): Promise<ForwardResult> {
  const exchange = client.open();
  try {
    const request = await exchange.processRequest(headers, body.length > 0 ? [body] : []);
    if (request.kind === 'local_reply') {
      return {
        status: request.status,
        headers: request.headers,
        body: request.body,
        request,
        upstream: null,
        extProcHost: exchange.host,
      };
    }
    const host = pickHost(request, headers, clusters, fallbackCluster);
    if (!host)
      return {
        status: 503,
        headers: [],
        body: Buffer.from('no healthy upstream'),
        request,
        upstream: null,
        extProcHost: exchange.host,
      };
    const path = getHeader(request.headers, ':path') ?? '/';
    const method = getHeader(request.headers, ':method') ?? 'POST';
    const upstreamHeaders: Record<string, string> = {};
    for (const [k, v] of request.headers)
      if (!k.startsWith(':') && k !== 'content-length' && k !== 'host' && k !== 'expect' && !isHopByHop(k))
        upstreamHeaders[k] = v;
    let res: Response;
    try {
      res = await fetch(`http://${host}${path}`, {
        method,
        headers: upstreamHeaders,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: request.body }),
      });
    } catch {
      return {
        status: 503,
        headers: [],
        body: Buffer.from('upstream connect error'),
        request,
        upstream: host,
        extProcHost: exchange.host,
      };
    }
    const responseHeaders: HeaderList = [];
    res.headers.forEach((v, k) => {
      if (k !== 'content-length' && !isHopByHop(k)) responseHeaders.push([k, v]);
    });
    const head = await exchange.processResponseHeaders(res.status, responseHeaders, res.body === null);
    if (head.localReply?.kind === 'local_reply') {
      return {
        status: head.localReply.status,
        headers: head.localReply.headers,
        body: head.localReply.body,
        request,
        upstream: host,
        extProcHost: exchange.host,
      };
    }
    sink?.head(
      res.status,
      head.headers.filter(([k]) => k !== ':status'),
    );
    const parts: Buffer[] = [];
    if (res.body) {
      const reader = res.body.getReader();
      let pending: Buffer | null = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // One chunk behind, so the last one can carry end_of_stream.
        if (pending) {
          const out = await exchange.processResponseBody(pending, false);
          parts.push(out);
          sink?.chunk(out);
        }
        pending = Buffer.from(value);
      }
      const out = await exchange.processResponseBody(pending ?? Buffer.alloc(0), true);
      parts.push(out);
      sink?.chunk(out);
    }
    return {
      status: res.status,
      headers: head.headers.filter(([k]) => k !== ':status'),
      body: Buffer.concat(parts),
      request,
      upstream: host,
      extProcHost: exchange.host,
    };
  } finally {
    exchange.close();
  }
}
