import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidRequestError } from '../../core/src/errors.js';
import { apiForPath, parseLlmRequest } from '../src/core/envoy/openai-request.js';

const body = (o: unknown) => Buffer.from(JSON.stringify(o));

test('reads model, stream and max tokens from a chat body', () => {
  const r = parseLlmRequest(
    body({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 12 }),
    'chat',
  );
  assert.equal(r.model, 'm');
  assert.equal(r.stream, true);
  assert.equal(r.maxTokens, 12);
  assert.equal(r.api, 'chat');
  const c = parseLlmRequest(body({ model: 'm', prompt: 'x', max_completion_tokens: 3 }), 'completions');
  assert.equal(c.maxTokens, 3);
  assert.equal(c.stream, false);
});

test('paths map to APIs', () => {
  assert.equal(apiForPath('/v1/chat/completions'), 'chat');
  assert.equal(apiForPath('/v1/completions'), 'completions');
});

test('bad bodies are invalid requests with a clear message', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from('{"model": "m", "messages": ['), /not valid JSON/],
    [Buffer.from(''), /empty/],
    [Buffer.from('[1,2]'), /JSON object/],
    [body({ messages: [] }), /'model' is required/],
    [body({ model: 'm' }), /'messages' is required/],
    [body({ model: 'm', messages: [], max_tokens: -1 }), /max_tokens/],
    [body({ model: 'm', messages: [], stream: 'yes' }), /'stream'/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseLlmRequest(input, 'chat'),
      (err: unknown) => err instanceof InvalidRequestError && message.test(err.message),
    );
  }
  assert.throws(() => parseLlmRequest(body({ model: 'm' }), 'completions'), /'prompt' is required/);
});
