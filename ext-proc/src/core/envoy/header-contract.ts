// The headers this service writes on upstream requests. Any client-supplied copy of them
// is removed first, so no client can choose a cluster or an endpoint, or fake a prediction.

export const CLUSTER_HEADER = 'x-pythia-cluster';
/** Gateway API Inference Extension convention; also the ORIGINAL_DST header. */
export const DESTINATION_ENDPOINT_HEADER = 'x-gateway-destination-endpoint';
/** Dynamic-metadata namespace Envoy's load balancers (override_host) read. */
export const LB_METADATA_NAMESPACE = 'envoy.lb';
export const PREDICTED_OUTPUT_TOKENS_HEADER = 'x-pythia-predicted-output-tokens';
export const NEXT_AGENTS_HEADER = 'x-pythia-next-agents';
export const PRIORITY_HEADER = 'x-pythia-priority';
export const MODE_HEADER = 'x-pythia-mode';
/** Where the request's workflow identity came from: headers, native, inferred or none. */
export const IDENTITY_HEADER = 'x-pythia-identity';

export const HEADERS_WE_SET: readonly string[] = [
  CLUSTER_HEADER,
  DESTINATION_ENDPOINT_HEADER,
  PREDICTED_OUTPUT_TOKENS_HEADER,
  NEXT_AGENTS_HEADER,
  PRIORITY_HEADER,
  MODE_HEADER,
  IDENTITY_HEADER,
];

const HEADERS_WE_SET_SET: ReadonlySet<string> = new Set(HEADERS_WE_SET);

export function isHeaderWeSet(name: string): boolean {
  return HEADERS_WE_SET_SET.has(name);
}
