// k6 load test: coding-agent sessions against a real mesh (Envoy/Istio gateway with Pythia's
// ext_proc in front of vLLM/SGLang). One iteration is one session: planner, parallel explorers,
// an engineer loop with tool time between rounds, reviewer, verifier; each request carries
// the three workflow headers. Sessions arrive at a constant rate (open model).
//
//   k6 run -e BASE_URL=http://gateway:10000 -e MODEL=meta-llama/Llama-3.1-8B-Instruct \
//          -e RATE=2 -e DURATION=5m bench/k6/agent-workflow.ts
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const BASE_URL = __ENV['BASE_URL'] ?? 'http://127.0.0.1:10000';
const MODEL = __ENV['MODEL'] ?? 'meta-llama/Llama-3.1-8B-Instruct';
const WORKFLOW = __ENV['WORKFLOW'] ?? 'coding';
const RATE = Number(__ENV['RATE'] ?? '1');
const DURATION = __ENV['DURATION'] ?? '2m';
const MAX_TOKENS = Number(__ENV['MAX_TOKENS'] ?? '256');
const TOOL_TIME_S = Number(__ENV['TOOL_TIME_S'] ?? '2');

const jct = new Trend('session_jct', true);
const ttft = new Trend('time_to_first_token', true);
const failedRequests = new Counter('llm_requests_failed');

export const options: Options = {
  scenarios: {
    sessions: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.max(10, RATE * 60),
      maxVUs: Math.max(50, RATE * 300),
    },
  },
  // SLOs: adjust to your fleet.
  thresholds: {
    session_jct: ['p(95)<300000'],
    time_to_first_token: ['p(95)<5000'],
    http_req_failed: ['rate<0.01'],
  },
};

const SYSTEM: Record<string, string> = {
  planner: 'You are the planner of a coding agent. Break the task into steps. '.repeat(40),
  explorer: 'You are an explorer. Read the relevant code and report what matters. '.repeat(30),
  engineer: 'You are the engineer. Write the change and explain it briefly. '.repeat(60),
  reviewer: 'You are the reviewer. Check the change for bugs and style. '.repeat(35),
  verifier: 'You are the verifier. Answer PASS or FAIL with one reason. '.repeat(15),
};

function request(session: string, agent: string, history: string[], last: boolean) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-pythia-workflow': WORKFLOW,
    'x-pythia-session': session,
    'x-pythia-agent': agent,
  };
  if (last) headers['x-pythia-session-end'] = 'true';
  return {
    method: 'POST',
    url: `${BASE_URL}/v1/chat/completions`,
    body: JSON.stringify({
      model: MODEL,
      max_tokens: MAX_TOKENS,
      messages: [
        { role: 'system', content: SYSTEM[agent] },
        { role: 'user', content: `${history.join('\n')}\nNext step for the ${agent}.` },
      ],
    }),
    params: { headers, tags: { agent } },
  };
}

function answer(res: http.RefinedResponse<http.ResponseType | undefined>): string {
  ttft.add(res.timings.waiting);
  const ok = check(res, { 'status is 200': (r) => r.status === 200 });
  if (!ok) {
    failedRequests.add(1);
    return '';
  }
  const body = res.json() as { choices?: Array<{ message?: { content?: string } }> } | null;
  return body?.choices?.[0]?.message?.content ?? '';
}

export default function session(): void {
  const id = `k6-${exec.vu.idInTest}-${exec.vu.iterationInScenario}-${Date.now()}`;
  const started = Date.now();
  const history: string[] = [];
  history.push(answer(http.post(...spread(request(id, 'planner', history, false)))));
  const explorers = http.batch([0, 1, 2].map(() => request(id, 'explorer', history, false)));
  for (const res of explorers) history.push(answer(res));
  const rounds = 3 + Math.floor(Math.random() * 4);
  for (let i = 0; i < rounds; i++) {
    history.push(answer(http.post(...spread(request(id, 'engineer', history, false)))));
    sleep(TOOL_TIME_S); // the executor runs the tests
  }
  history.push(answer(http.post(...spread(request(id, 'reviewer', history, false)))));
  answer(http.post(...spread(request(id, 'verifier', history, true))));
  jct.add(Date.now() - started);
}

function spread(r: ReturnType<typeof request>): [string, string, http.RefinedParams<'text'>] {
  return [r.url, r.body, r.params];
}

export function handleSummary(data: object): Record<string, string> {
  const out = __ENV['SUMMARY'] ?? 'k6-summary.json';
  return { [out]: JSON.stringify(data, null, 2), stdout: `summary written to ${out}\n` };
}
