// The OpenAI API objects the simulated replica answers with, shaped after the OpenAI API
// reference for the fields SDKs and tools read: ids, `created`, `model`, `finish_reason`,
// a first `role` delta, usage on a final chunk of the same object type (only when the
// client asked for it with stream_options.include_usage), model objects by id. The text is
// a placeholder ("tok " per token): the simulator models time and tokens, not language.

export type FinishReason = 'stop' | 'length';

/** One generation as the server sees it. */
export interface Completion {
  readonly id: string;
  readonly chat: boolean;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
  readonly finishReason: FinishReason;
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

export function placeholderText(tokens: number): string {
  return 'tok '.repeat(tokens);
}

export function completionId(chat: boolean, seq: number, salt: string): string {
  return `${chat ? 'chatcmpl' : 'cmpl'}-${salt}${seq.toString(16).padStart(8, '0')}`;
}

function sse(body: unknown): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}

function chunk(c: Completion, choices: unknown[], usage: Usage | null = null): string {
  return sse({
    id: c.id,
    object: c.chat ? 'chat.completion.chunk' : 'text_completion',
    created: c.created,
    model: c.model,
    choices,
    // With include_usage, every chunk carries `usage`: null until the final one.
    ...(c.includeUsage ? { usage } : {}),
  });
}

/** The first event of a chat stream: the assistant role, no content yet. */
export function roleChunk(c: Completion): string {
  return c.chat
    ? chunk(c, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }])
    : '';
}

export function textChunk(c: Completion, tokens: number): string {
  const text = placeholderText(tokens);
  const choice = c.chat
    ? { index: 0, delta: { content: text }, logprobs: null, finish_reason: null }
    : { index: 0, text, logprobs: null, finish_reason: null };
  return chunk(c, [choice]);
}

/** The end of a stream: the finish reason, the usage chunk when asked for, [DONE]. */
export function closingChunks(c: Completion, usage: Usage): string {
  const choice = c.chat
    ? { index: 0, delta: {}, logprobs: null, finish_reason: c.finishReason }
    : { index: 0, text: '', logprobs: null, finish_reason: c.finishReason };
  return `${chunk(c, [choice])}${c.includeUsage ? chunk(c, [], usage) : ''}data: [DONE]\n\n`;
}

export function completionBody(c: Completion, tokens: number, usage: Usage): string {
  const text = placeholderText(tokens);
  const choice = c.chat
    ? {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: c.finishReason,
      }
    : { index: 0, text, logprobs: null, finish_reason: c.finishReason };
  return JSON.stringify({
    id: c.id,
    object: c.chat ? 'chat.completion' : 'text_completion',
    created: c.created,
    model: c.model,
    choices: [choice],
    usage,
  });
}

export function modelObject(id: string, created: number, ownedBy: string) {
  return { id, object: 'model', created, owned_by: ownedBy };
}

/** OpenAI error JSON. */
export function errorBody(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
) {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** The id in `/v1/models/{id}` (SDKs percent-encode ids such as `meta-llama/Llama-3.1-8B`). */
export function modelIdFromPath(path: string): string | null {
  const prefix = '/v1/models/';
  if (!path.startsWith(prefix) || path.length === prefix.length) return null;
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return null;
  }
}
