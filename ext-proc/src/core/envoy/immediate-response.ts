import { openAiErrorBody, type PythiaError } from '../../../../core/src/errors.js';
import type { ProcessingResponse } from '../../../../common/src/envoy/ext-proc-messages.js';

/** A local reply in OpenAI error JSON: the one place errors become HTTP answers. */
export function immediateError(error: PythiaError): ProcessingResponse {
  return {
    immediate_response: {
      status: { code: error.httpStatus },
      headers: {
        set_headers: [
          {
            header: { key: 'content-type', raw_value: Buffer.from('application/json') },
            append: { value: false },
          },
        ],
      },
      body: Buffer.from(openAiErrorBody(error)),
      details: `pythia_${error.kind}`,
    },
  };
}
