// Plain-object shapes of the ext_proc messages as @grpc/proto-loader decodes and encodes
// them (keepCase, enums as names, oneof member name in `request` / `response`). Only the
// fields we read or write are typed.

export type BodySendMode =
  'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED' | 'GRPC';
export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';

export interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}

export interface HeaderMap {
  headers?: HeaderValue[];
}

export interface HttpHeaders {
  headers?: HeaderMap;
  end_of_stream?: boolean;
}

export interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}

export interface HttpTrailers {
  trailers?: HeaderMap;
}

export interface ProtocolConfiguration {
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  send_body_without_waiting_for_header_response?: boolean;
}

export type RequestKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers';

export interface ProcessingRequest {
  request?: RequestKind;
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: HttpTrailers;
  response_trailers?: HttpTrailers;
  observability_mode?: boolean;
  protocol_config?: ProtocolConfiguration;
}

export interface HeaderValueOption {
  header: { key: string; raw_value?: Buffer; value?: string };
  append?: { value: boolean };
}

export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}

export interface BodyMutation {
  mutation?: 'body' | 'clear_body' | 'streamed_response';
  body?: Buffer;
  clear_body?: boolean;
  streamed_response?: { body: Buffer; end_of_stream: boolean };
}

export interface CommonResponse {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE';
  header_mutation?: HeaderMutation;
  body_mutation?: BodyMutation;
  clear_route_cache?: boolean;
}

export interface ImmediateResponse {
  status: { code: number };
  headers?: HeaderMutation;
  body?: Buffer;
  details?: string;
}

export interface ProcessingMode {
  request_header_mode?: HeaderSendMode;
  response_header_mode?: HeaderSendMode;
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  request_trailer_mode?: HeaderSendMode;
  response_trailer_mode?: HeaderSendMode;
}

/** google.protobuf.Struct as proto-loader wants it for encoding. */
export interface StructValue {
  fields: Record<string, { stringValue?: string; structValue?: StructValue; kind?: string }>;
}

export type ResponseKind = RequestKind | 'immediate_response';

export interface ProcessingResponse {
  request_headers?: { response?: CommonResponse };
  response_headers?: { response?: CommonResponse };
  request_body?: { response?: CommonResponse };
  response_body?: { response?: CommonResponse };
  request_trailers?: { header_mutation?: HeaderMutation };
  response_trailers?: { header_mutation?: HeaderMutation };
  immediate_response?: ImmediateResponse;
  dynamic_metadata?: StructValue;
  mode_override?: ProcessingMode;
  /** Restarts Envoy's message timer (up to the filter's max_message_timeout); sent alone. */
  override_message_timeout?: { seconds?: number; nanos?: number };
}

const REQUEST_KINDS: readonly RequestKind[] = [
  'request_headers',
  'response_headers',
  'request_body',
  'response_body',
  'request_trailers',
  'response_trailers',
];
const RESPONSE_KINDS: readonly ResponseKind[] = [...REQUEST_KINDS, 'immediate_response'];

/** The oneof member set in a response (what Envoy checks against what it sent). */
export function responseKind(response: ProcessingResponse): ResponseKind | undefined {
  return RESPONSE_KINDS.find((k) => response[k] !== undefined);
}

/** The request kind of a decoded ProcessingRequest, whether or not `request` was filled. */
export function requestKind(request: ProcessingRequest): RequestKind | undefined {
  return request.request ?? REQUEST_KINDS.find((k) => request[k] !== undefined);
}
