// A request as ext-proc routed it, before it finished (pythia.v1.RequestStart, camelCase):
// published at once so the autoscaler knows a session from its first request on.
export interface RequestStart {
  readonly requestId: string;
  readonly workflow: string;
  readonly session: string;
  readonly agent: string;
  readonly pool: string;
  readonly startUnixMs: number;
  /** The request's exchange id, as in its trace ('' from an older replica). */
  readonly exchange: string;
}

/**
 * What pairs a request's start with its trace: the exchange id (unique whatever x-request-id
 * the client repeats), or the request id from a replica older than the exchange id. Request
 * ids never contain `#`, so the two kinds never collide.
 */
export function exchangeKey(r: Pick<RequestStart, 'exchange' | 'requestId'>): string {
  return r.exchange === '' ? r.requestId : `#${r.exchange}`;
}
