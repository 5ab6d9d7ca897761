// The cardinality flood's lean HTTP/2 driver against the real ext_proc service: every
// exchange of many concurrent streams goes through as Envoy's would (each distinct session
// tracked by the service) across the service's connection recycling (GOAWAY every 50 streams
// here); an exchange the service answers locally is reported as failed, not counted as done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness, testConfig } from '../../ext-proc/test/support/harness.js';
import { exchangeFrames, H2ExtProcConnection, responseFrames } from '../src/cardinality/h2-driver.js';

const UPSTREAM = responseFrames(
  200,
  [['content-type', 'application/json']],
  Buffer.from(JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } })),
);

function headers(session: string): Array<[string, string]> {
  return [
    [':method', 'POST'],
    [':path', '/v1/chat/completions'],
    [':authority', 'gateway'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['x-pythia-workflow', 'wf'],
    ['x-pythia-session', session],
    ['x-pythia-agent', 'planner'],
  ];
}

const body = (model: string) =>
  Buffer.from(JSON.stringify({ model, messages: [{ role: 'user', content: 'go' }] }));

test('h2 driver: concurrent exchanges through the real service, across connection recycling', async () => {
  const h = await startHarness(testConfig({ ext_proc: { max_streams_per_connection: 50 } }));
  const target = `127.0.0.1:${h.service.grpcPort}`;
  const connections = [new H2ExtProcConnection(target), new H2ExtProcConnection(target)];
  try {
    const model = 'meta-llama/Llama-3.1-8B-Instruct';
    let next = 0;
    const results: Array<string | null> = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = next++; i < 300; i = next++) {
          const c = connections[w % 2] as H2ExtProcConnection;
          results.push(await c.run(exchangeFrames(headers(`s-${i}`), body(model), UPSTREAM)));
        }
      }),
    );
    assert.equal(results.length, 300);
    assert.deepEqual(
      results.filter((r) => r !== null),
      [],
    );
    assert.equal(h.service.sessions.size, 300);
    assert.ok(connections[0]!.opened + connections[1]!.opened >= 6, 'the service recycled connections');
    // A model no pool serves: ext-proc answers locally (an immediate response), which is a failure here.
    const refused = await connections[0]!.run(
      exchangeFrames(headers('s-x'), body('no-such-model'), UPSTREAM),
    );
    assert.equal(refused, 'immediate_response');
  } finally {
    for (const c of connections) c.close();
    await h.stop();
  }
});
