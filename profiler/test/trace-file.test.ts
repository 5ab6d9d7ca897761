import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { codingWorkload } from '../../test-support/src/workloads/agent-workloads.js';
import { synthesizeTraces } from '../../test-support/src/workloads/synthesize-traces.js';
import { readTraceFile, traceToJsonLine } from '../src/adapters/trace-file.js';

test('trace files round-trip and bad lines are reported with their numbers', () => {
  const traces = synthesizeTraces(codingWorkload({ sessions: 2, ratePerS: 1, seed: 4 }));
  const lines = traces.map(traceToJsonLine);
  lines.splice(
    2,
    0,
    '{"workflow": "coding"',
    '',
    '{"request_id":"x","workflow":"w","session":"s","agent":"a","start_unix_ms":"soon","end_unix_ms":1}',
  );
  const path = join(mkdtempSync(join(tmpdir(), 'traces-')), 't.jsonl');
  writeFileSync(path, lines.join('\n'));
  const { traces: read, errors } = readTraceFile(path);
  assert.deepEqual(read, traces);
  assert.deepEqual(
    errors.map((e) => e.line),
    [3, 5],
  );
  assert.match(errors[1]?.message ?? '', /start_unix_ms must be a number/);
});
