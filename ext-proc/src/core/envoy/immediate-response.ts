import { OverloadedError, openAiErrorBody, type PythiaError } from '../../../../core/src/errors.js';
import type { ProcessingResponse } from '../../../../common/src/envoy/ext-proc-messages.js';

/** A local reply in OpenAI error JSON: the one place errors become HTTP answers. */
export function immediateError(error: PythiaError): ProcessingResponse {
  const set_headers = [
    {
      header: { key: 'content-type', raw_value: Buffer.from('application/json') },
      append: { value: false },
    },
  ];
  // A shed request says when to come back (OpenAI clients honour retry-after on 429).
  if (error instanceof OverloadedError)
    set_headers.push({
      header: { key: 'retry-after', raw_value: Buffer.from(String(error.retryAfterS)) },
      append: { value: false },
    });
  return {
    immediate_response: {
      status: { code: error.httpStatus },
      headers: { set_headers },
      body: Buffer.from(openAiErrorBody(error)),
      details: `pythia_${error.kind}`,
    },
  };
}
