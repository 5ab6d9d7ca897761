// The few error classes the services raise. Each carries what the edge needs to map it
// once: an HTTP status and OpenAI error type for Envoy immediate responses, and a kind
// label for metrics. Messages never contain prompt text.

export type ErrorKind =
  | 'invalid_request'
  | 'body_too_large'
  | 'unknown_model'
  | 'no_ready_endpoint'
  | 'overloaded'
  | 'protocol'
  | 'config';

export class PythiaError extends Error {
  readonly kind: ErrorKind;
  readonly httpStatus: number;
  /** OpenAI error `type` field. */
  readonly openAiType: string;
  /** OpenAI error `code` field, when one applies. */
  readonly code: string | null;

  constructor(kind: ErrorKind, httpStatus: number, openAiType: string, code: string | null, message: string) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.openAiType = openAiType;
    this.code = code;
  }
}

/** The client sent something we cannot process (malformed JSON, wrong field types). */
export class InvalidRequestError extends PythiaError {
  constructor(message: string, code: string | null = null) {
    super('invalid_request', 400, 'invalid_request_error', code, message);
  }
}

export class BodyTooLargeError extends PythiaError {
  constructor(limitBytes: number) {
    super(
      'body_too_large',
      413,
      'invalid_request_error',
      'request_too_large',
      `request body exceeds the ${limitBytes}-byte limit`,
    );
  }
}

export class UnknownModelError extends PythiaError {
  constructor(model: string) {
    super(
      'unknown_model',
      404,
      'invalid_request_error',
      'model_not_found',
      `The model '${model}' does not exist`,
    );
  }
}

export class NoReadyEndpointError extends PythiaError {
  constructor(pool: string) {
    super(
      'no_ready_endpoint',
      503,
      'service_unavailable',
      'no_ready_endpoint',
      `no ready endpoint in pool '${pool}'`,
    );
  }
}

/**
 * Load shed (flow control: the queue is full, or the request waited past its TTL): a 429
 * the client may retry after `retryAfterS` seconds, as OpenAI's rate-limit error.
 */
export class OverloadedError extends PythiaError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('overloaded', 429, 'requests', 'rate_limit_exceeded', message);
  }
}

/** The ext_proc peer broke the protocol (only raised by our Envoy-faithful client and tests). */
export class ProtocolError extends PythiaError {
  constructor(message: string) {
    super('protocol', 500, 'internal_error', null, message);
  }
}

export interface ConfigProblem {
  /** Dotted key path, e.g. `pools[1].endpoints[0].address`. */
  readonly path: string;
  readonly message: string;
}

/** Every problem found in a configuration file, reported at once. */
export class ConfigError extends PythiaError {
  readonly problems: readonly ConfigProblem[];
  constructor(source: string, problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n');
    super('config', 500, 'config_error', null, `invalid configuration in ${source}:\n${lines}`);
    this.problems = problems;
  }
}

/** The OpenAI-compatible error body for a PythiaError. */
export function openAiErrorBody(err: PythiaError): string {
  return JSON.stringify({
    error: { message: err.message, type: err.openAiType, param: null, code: err.code },
  });
}
