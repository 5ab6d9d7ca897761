// Trace files: JSONL, one pythia.v1.TraceRecord per line in its JSON form (snake_case field
// names as in the .proto, camelCase accepted too). Bad lines are reported with their number.
import { readJsonLines } from '../../../common/src/jsonl.js';
import { TRACE_TEXT_FIELDS, type Trace, type TraceStatus } from '../../../core/src/wire/trace.js';

export interface TraceFileResult {
  readonly traces: Trace[];
  readonly errors: Array<{ line: number; message: string }>;
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const NUMBER_FIELDS = [
  'promptTokens',
  'outputTokens',
  'queueMs',
  'firstTokenMs',
  'totalMs',
  'startUnixMs',
  'endUnixMs',
  'httpStatus',
  'promptBytes',
  'predictedOutputTokens',
] as const;
const STRING_FIELDS = TRACE_TEXT_FIELDS;
const STATUSES: readonly TraceStatus[] = ['OK', 'UPSTREAM_ERROR', 'CANCELLED', 'REJECTED'];

export function parseTraceLine(text: string): Trace {
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) o[camel(k)] = v;
  for (const f of ['requestId', 'workflow', 'session', 'agent', 'startUnixMs', 'endUnixMs'] as const) {
    if (o[f] === undefined) throw new Error(`missing ${snake(f)}`);
  }
  for (const f of NUMBER_FIELDS) {
    if (o[f] !== undefined && (typeof o[f] !== 'number' || !Number.isFinite(o[f])))
      throw new Error(`${snake(f)} must be a number`);
  }
  for (const f of STRING_FIELDS) {
    if (o[f] !== undefined && typeof o[f] !== 'string') throw new Error(`${snake(f)} must be a string`);
  }
  const status = (o['status'] ?? 'OK') as TraceStatus;
  if (!STATUSES.includes(status)) throw new Error(`status must be one of ${STATUSES.join(', ')}`);
  const num = (f: (typeof NUMBER_FIELDS)[number]) => (o[f] as number | undefined) ?? 0;
  const str = (f: (typeof STRING_FIELDS)[number]) => (o[f] as string | undefined) ?? '';
  return {
    requestId: str('requestId'),
    workflow: str('workflow'),
    session: str('session'),
    agent: str('agent'),
    model: str('model'),
    pool: str('pool'),
    endpoint: str('endpoint'),
    promptTokens: num('promptTokens'),
    cachedTokens: typeof o['cachedTokens'] === 'number' ? o['cachedTokens'] : null,
    outputTokens: num('outputTokens'),
    outputTokensReported: o['outputTokensReported'] !== false,
    queueMs: num('queueMs'),
    firstTokenMs: num('firstTokenMs'),
    totalMs: num('totalMs'),
    startUnixMs: num('startUnixMs'),
    endUnixMs: num('endUnixMs'),
    status,
    httpStatus: num('httpStatus'),
    promptBytes: num('promptBytes'),
    sessionEnd: o['sessionEnd'] === true,
    predictedAgent: str('predictedAgent'),
    predictedOutputTokens: num('predictedOutputTokens'),
    mode: str('mode'),
    exchange: str('exchange'),
  };
}

export function readTraceFile(path: string): TraceFileResult {
  const { items, errors } = readJsonLines(path, parseTraceLine);
  return { traces: items, errors };
}

export function traceToJsonLine(t: Trace): string {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== null) o[snake(k)] = v;
  return JSON.stringify(o);
}
