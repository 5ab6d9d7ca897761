// The routing decision in Envoy's terms: the headers of header-contract.ts (cluster,
// destination endpoint, the prediction in force, the priority), the envoy.lb metadata its
// load balancers read (the endpoint, then the fallbacks), and the body carrying the
// engine's priority field and retention hint when the decision asks for them.
import type { HeaderValueOption, StructValue } from '../../../../common/src/envoy/ext-proc-messages.js';
import { formatNextAgents } from '../../../../core/src/workflow/predictor.js';
import type { RouteDecision } from '../routing/route-decision.js';
import {
  CLUSTER_HEADER,
  DESTINATION_ENDPOINT_HEADER,
  LB_METADATA_NAMESPACE,
  MODE_HEADER,
  NEXT_AGENTS_HEADER,
  PREDICTED_OUTPUT_TOKENS_HEADER,
  PRIORITY_HEADER,
} from './header-contract.js';
import { bodyWithFields, sessionControlJson } from './priority-body.js';

export function rawHeader(key: string, value: string): HeaderValueOption {
  // Envoy reads raw_value only; `value` must stay unset or the header is rejected.
  return { header: { key, raw_value: Buffer.from(value, 'latin1') }, append: { value: false } };
}

/** The upstream request headers to set, values already safe (pool and endpoint names come from config). */
export function decisionHeaders(decision: RouteDecision): HeaderValueOption[] {
  const headers = [
    rawHeader(CLUSTER_HEADER, decision.pool),
    rawHeader(DESTINATION_ENDPOINT_HEADER, decision.endpoint),
  ];
  const prediction = decision.prediction;
  if (prediction) {
    headers.push(rawHeader(MODE_HEADER, prediction.mode));
    if (prediction.outputBound !== null)
      headers.push(rawHeader(PREDICTED_OUTPUT_TOKENS_HEADER, String(prediction.outputBound)));
    if (prediction.nextAgents.length > 0)
      headers.push(rawHeader(NEXT_AGENTS_HEADER, formatNextAgents(prediction.nextAgents)));
  }
  if (decision.priority !== null) headers.push(rawHeader(PRIORITY_HEADER, String(decision.priority)));
  return headers;
}

/** Dynamic metadata for override_host: the chosen endpoint first, then the fallbacks. */
export function lbMetadata(decision: RouteDecision): StructValue {
  const endpoints = [decision.endpoint, ...decision.fallbacks].join(',');
  return {
    fields: {
      [LB_METADATA_NAMESPACE]: {
        structValue: { fields: { [DESTINATION_ENDPOINT_HEADER]: { stringValue: endpoints } } },
      },
    },
  };
}

/**
 * The body to send upstream instead of the client's, or null to keep it: the engine priority
 * and the retention hint (`nvext.session_control`, unless the client sent its own `nvext`).
 */
export function decisionBody(
  decision: RouteDecision,
  body: Buffer,
  json: Record<string, unknown>,
): Buffer | null {
  const fields: Array<readonly [string, string]> = [];
  if (decision.enginePriority !== null) fields.push(['priority', String(decision.enginePriority)]);
  if (decision.retention !== null && !Object.hasOwn(json, 'nvext'))
    fields.push(['nvext', sessionControlJson(decision.retention)]);
  return fields.length === 0 ? null : bodyWithFields(body, json, fields);
}
