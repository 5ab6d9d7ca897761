// Through ext-proc's real message handling and gateway core, with only a Claude-Code-style
// session header: a role's first request is routed as `r-other` (its fingerprint is not
// established yet), and if the role's second sighting comes while it runs, the trace
// published at its end names the role, as the Pythia headers would have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeaderValue } from '../../common/src/envoy/ext-proc-messages.js';
import { OTHER_ROLE } from '../../core/src/identity/resolver.js';
import { StreamProcessor } from '../src/core/envoy/stream-processor.js';
import { capturedCore } from './support/captured-core.js';

const hv = (pairs: Array<[string, string]>): HeaderValue[] =>
  pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));
const headersMessage = (pairs: Array<[string, string]>) => ({
  request_headers: { headers: { headers: hv(pairs) } },
});

test("a role's first request, r-other when routed, is traced as the role established meanwhile", () => {
  const { config, clock, traces, starts, core, settings, metrics } = capturedCore();
  assert.deepEqual([config.identity.min_sessions, config.identity.min_requests], [2, 2]);
  let ids = 0;
  /** Sends a request up to its routing answer; the returned function ends it. */
  const begin = (role: string, session: string) => {
    const p = new StreamProcessor(
      settings,
      core.router,
      metrics,
      clock,
      () => `r${ids++}`,
      undefined,
      core.identity,
    );
    const path: [string, string] = [':path', '/v1/chat/completions'];
    p.handle(headersMessage([[':method', 'POST'], path, ['x-claude-code-session-id', session]]));
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: `You are the ${role}. Today is 2026-12-0${session.length}.` },
        { role: 'user', content: `task ${session}` },
      ],
    };
    p.handle({ request_body: { body: Buffer.from(JSON.stringify(body)), end_of_stream: true } });
    return () => {
      clock.advance(10);
      p.handle({ response_headers: { headers: { headers: hv([[':status', '200']]) } } });
      p.handle({ response_body: { body: Buffer.from('{"choices":[]}'), end_of_stream: true } });
      p.close();
    };
  };
  begin('planner', 'cc-1')(); // a new workflow type: ordinary traffic, no trace
  begin('planner', 'cc-22')(); // its second session: established, and so is the planner
  begin('planner', 'cc-333')();
  assert.equal(traces.length, 2);
  const endFirstTester = begin('tester', 'cc-22'); // the tester's first sighting
  assert.equal(starts.at(-1)?.agent, OTHER_ROLE, 'routed as r-other');
  begin('tester', 'cc-333')(); // its second sighting, ending first
  const tester = traces.at(-1)?.agent as string;
  assert.match(tester, /^r-[0-9a-z]{8}$/);
  endFirstTester();
  assert.deepEqual(
    traces.map((t) => [t.session, t.agent]),
    [
      [traces[0]?.session, traces[0]?.agent],
      [traces[1]?.session, traces[1]?.agent],
      [traces[1]?.session, tester],
      [traces[0]?.session, tester],
    ],
  );
  // A role seen once and never again keeps r-other in its trace.
  begin('one-off', 'cc-333')();
  assert.equal(traces.at(-1)?.agent, OTHER_ROLE);
});
