// The same flood through ext-proc's real message handling in this process (a
// StreamProcessor per exchange, the gateway core the service wires), without the gRPC
// transport: the full 10 million in minutes, and every table's own figures.
import type { HeaderValue } from '../../../common/src/envoy/ext-proc-messages.js';
import { ExtProcMetrics } from '../../../ext-proc/src/adapters/metrics.js';
import { settingsFromConfig } from '../../../ext-proc/src/adapters/service.js';
import { systemClock, systemRequestIds } from '../../../ext-proc/src/adapters/system-sources.js';
import { StreamProcessor } from '../../../ext-proc/src/core/envoy/stream-processor.js';
import { createGatewayCore } from '../../../ext-proc/src/core/routing/gateway-core.js';
import { deadline, type FloodSize } from './cores.js';
import { extProcFillAt, floodConfig } from './flood-config.js';
import { formatRow, identityOf, memoryNow, type Sample, systemPrompt } from './memory.js';

const mib = (b: number) => (b / 2 ** 20).toFixed(1);

function headerValues(pairs: ReadonlyArray<readonly [string, string]>): HeaderValue[] {
  return pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) }));
}

export function floodGateway(
  size: FloodSize,
  bounds: number | null,
  print: (line: string) => void,
): { samples: Sample[]; fillAt: number } {
  const config = floodConfig(bounds);
  const samples: Sample[] = [];
  const core = createGatewayCore(config, { clock: systemClock, random: Math.random });
  const metrics = new ExtProcMetrics(false);
  const settings = settingsFromConfig(config);
  const status = headerValues([
    [':status', '200'],
    ['content-type', 'application/json'],
  ]);
  const output = Buffer.from(
    JSON.stringify({
      choices: [{ index: 0, message: { role: 'assistant', content: 'Plan: read, then fix.' } }],
      usage: { prompt_tokens: 40, completion_tokens: 12 },
    }),
  );
  const over = deadline(size.maxSeconds);
  let lapStart = performance.now();
  for (let i = 0; i < size.sessions; i++) {
    if (over(i)) {
      const m = memoryNow();
      samples.push({ done: i, rssMiB: m.rssMiB, heapMiB: m.heapMiB, offGrid: true });
      print(formatRow('gateway', i, m, `stopped after ${size.maxSeconds} s`));
      break;
    }
    const id = identityOf(i, size.agents, size.workflows);
    const p = new StreamProcessor(settings, core.router, metrics, systemClock, systemRequestIds);
    p.handle({
      request_headers: {
        headers: {
          headers: headerValues([
            [':method', 'POST'],
            [':path', '/v1/chat/completions'],
            ['content-type', 'application/json'],
            ['x-pythia-workflow', id.workflow],
            ['x-pythia-session', id.session],
            ['x-pythia-agent', id.agent],
          ]),
        },
      },
    });
    const body = JSON.stringify({
      model: 'bench-model',
      messages: [
        { role: 'system', content: systemPrompt(id.agent) },
        { role: 'user', content: `Work on ${id.session}.` },
      ],
    });
    p.handle({ request_body: { body: Buffer.from(body), end_of_stream: true } });
    p.handle({ response_headers: { headers: { headers: status } } });
    p.handle({ response_body: { body: output, end_of_stream: true } });
    p.close();
    if ((i + 1) % size.every === 0) {
      const m = memoryNow();
      samples.push({ done: i + 1, rssMiB: m.rssMiB, heapMiB: m.heapMiB });
      print(
        formatRow(
          'gateway',
          i + 1,
          m,
          `${(size.every / ((performance.now() - lapStart) / 1000)).toFixed(0)}/s tracker ${core.sessions.size}/${mib(core.sessions.sizeBytes)} affinity ${core.affinity.size}/${mib(core.affinity.sizeBytes)} history ${core.history.size}/${mib(core.history.sizeBytes)} prompts ${core.prompts.size}/${mib(core.prompts.sizeBytes)} prefix ${core.prefixIndex.size}/${mib(core.prefixIndex.sizeBytes)} (entries/MiB est.)`,
        ),
      );
      lapStart = performance.now();
    }
  }
  return { samples, fillAt: extProcFillAt(config) };
}
