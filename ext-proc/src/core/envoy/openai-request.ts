// Reads only what routing needs from an OpenAI-compatible request body. The body is
// parsed once; its text is never logged.
import { InvalidRequestError } from '../../../../core/src/errors.js';
import type { LlmApi, LlmRequest } from '../routing/route-input.js';

export function apiForPath(path: string): LlmApi {
  return path.endsWith('/completions') && !path.endsWith('/chat/completions') ? 'completions' : 'chat';
}

function optionalNonNegativeInt(json: Record<string, unknown>, key: string): number | null {
  const value = json[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidRequestError(`'${key}' must be a non-negative integer`, 'invalid_type');
  }
  return value;
}

export function parseLlmRequest(body: Buffer, api: LlmApi): LlmRequest {
  if (body.length === 0) throw new InvalidRequestError('request body is empty; expected a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(
      `request body is not valid JSON: ${(err as Error).message}`,
      'invalid_json',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidRequestError('request body must be a JSON object');
  }
  const json = parsed as Record<string, unknown>;
  const model = json['model'];
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidRequestError("'model' is required and must be a non-empty string", 'missing_model');
  }
  if (api === 'chat') {
    if (!Array.isArray(json['messages'])) {
      throw new InvalidRequestError("'messages' is required and must be an array", 'invalid_type');
    }
  } else {
    const prompt = json['prompt'];
    if (typeof prompt !== 'string' && !Array.isArray(prompt)) {
      throw new InvalidRequestError("'prompt' is required and must be a string or an array", 'invalid_type');
    }
  }
  const stream = json['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new InvalidRequestError("'stream' must be a boolean", 'invalid_type');
  }
  const maxTokens =
    optionalNonNegativeInt(json, 'max_completion_tokens') ?? optionalNonNegativeInt(json, 'max_tokens');
  return { api, model, stream: stream === true, maxTokens, bodyBytes: body.length, json };
}
