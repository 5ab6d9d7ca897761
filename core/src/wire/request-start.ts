// A request as ext-proc routed it, before it finished (pythia.v1.RequestStart, camelCase):
// published at once so the autoscaler knows a session from its first request on.
export interface RequestStart {
  readonly requestId: string;
  readonly workflow: string;
  readonly session: string;
  readonly agent: string;
  readonly pool: string;
  readonly startUnixMs: number;
}
