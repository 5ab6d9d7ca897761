import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseUsageCounter } from '../src/core/envoy/response-usage.js';

const sse = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

test('the SSE usage chunk wins, even when split across body chunks', () => {
  const counter = new ResponseUsageCounter(1024, 100);
  const text =
    sse({ choices: [{ delta: { content: 'Hello world!' } }] }) +
    sse({
      choices: [],
      usage: { prompt_tokens: 40, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 32 } },
    }) +
    'data: [DONE]\n\n';
  const cut = Math.floor(text.length / 2) + 3;
  counter.push(Buffer.from(text.slice(0, cut)));
  counter.push(Buffer.from(text.slice(cut)));
  assert.deepEqual(counter.finish(), {
    outputTokens: 7,
    reported: true,
    promptTokens: 40,
    cachedTokens: 32,
    outputText: 'Hello world!',
  });
});

test('without a usage chunk the output is estimated from generated text', () => {
  const counter = new ResponseUsageCounter(1024);
  for (let i = 0; i < 10; i++) counter.push(Buffer.from(sse({ choices: [{ delta: { content: 'abcd' } }] })));
  const report = counter.finish();
  assert.equal(report.outputTokens, 10);
  assert.equal(report.reported, false);
});

test('a non-streaming JSON body is read for usage, within the scan bound', () => {
  const json = JSON.stringify({
    choices: [{ message: { content: 'x'.repeat(40) } }],
    usage: { completion_tokens: 9, prompt_tokens: 3 },
  });
  const counter = new ResponseUsageCounter(1024);
  counter.push(Buffer.from(json.slice(0, 10)));
  counter.push(Buffer.from(json.slice(10)));
  assert.equal(counter.finish().outputTokens, 9);
  const tooBig = new ResponseUsageCounter(8);
  tooBig.push(Buffer.from(json));
  assert.equal(tooBig.finish().reported, false);
});

test('garbage and an endless line do not break counting', () => {
  const counter = new ResponseUsageCounter(16);
  counter.push(Buffer.from('data: {not json\n\n'));
  counter.push(Buffer.alloc(200 * 1024, 'a'));
  counter.push(Buffer.from(`\n${sse({ choices: [{ delta: { content: 'abcdefgh' } }] })}`));
  assert.equal(counter.finish().outputTokens, 2);
});

test('captured output text is bounded', () => {
  const counter = new ResponseUsageCounter(1024, 5);
  counter.push(Buffer.from(sse({ choices: [{ delta: { content: 'abcdefgh' } }] })));
  assert.equal(counter.finish().outputText, 'abcde');
  const none = new ResponseUsageCounter(1024);
  none.push(Buffer.from(sse({ choices: [{ delta: { content: 'abcdefgh' } }] })));
  assert.equal(none.finish().outputText, '');
});
