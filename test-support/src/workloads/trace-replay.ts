// Session traces to replay, one JSON session per line (see docs/bench.md, "Trace replay"):
// {"workflow","session","arrival_s","model"?,"steps":[{"agent","stage","prefix","prefix_tokens",
//   "history","new_tokens","output_tokens","after_s","model"?,"thread"?,"publish"?}]}
// Unknown fields are ignored; a malformed line is reported with its number and skipped.
import { readJsonLines } from '../../../common/src/jsonl.js';
import type { SessionPlan, StepPlan } from './session-plan.js';

export interface ReplayFile {
  readonly sessions: SessionPlan[];
  readonly errors: Array<{ readonly line: number; readonly message: string }>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;

function str(o: Record<string, unknown>, key: string, where: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new Error(`${where}${key} must be a non-empty string`);
  if (pattern && !pattern.test(v))
    throw new Error(`${where}${key} has characters outside A-Z a-z 0-9 . _ : @ + -`);
  return v;
}

function num(o: Record<string, unknown>, key: string, where: string, fallback?: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new Error(`${where}${key} must be a non-negative number`);
  return v;
}

export function parseSessionLine(text: string): SessionPlan {
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  const o = raw as Record<string, unknown>;
  const workflow = str(o, 'workflow', '', ID);
  const session = str(o, 'session', '', ID);
  const arrivalS = num(o, 'arrival_s', '');
  const model = o['model'];
  if (model !== undefined && typeof model !== 'string') throw new Error('model must be a string');
  if (!Array.isArray(o['steps']) || o['steps'].length === 0)
    throw new Error('steps must be a non-empty array');
  const steps: StepPlan[] = o['steps'].map((s: unknown, i: number) => {
    const where = `steps[${i}].`;
    if (typeof s !== 'object' || s === null) throw new Error(`${where.slice(0, -1)} must be an object`);
    const step = s as Record<string, unknown>;
    const stepModel = step['model'];
    if (stepModel !== undefined && typeof stepModel !== 'string')
      throw new Error(`${where}model must be a string`);
    const thread = step['thread'];
    if (thread !== undefined && (typeof thread !== 'string' || !ID.test(thread)))
      throw new Error(`${where}thread must be a name of A-Z a-z 0-9 . _ : @ + -`);
    const publish = step['publish'];
    if (publish !== undefined && publish !== 'all' && publish !== 'output' && publish !== 'none')
      throw new Error(`${where}publish must be "all", "output" or "none"`);
    const stage = num(step, 'stage', where);
    if (!Number.isInteger(stage)) throw new Error(`${where}stage must be an integer`);
    return {
      agent: str(step, 'agent', where, ID),
      stage,
      prefix: str(step, 'prefix', where),
      prefixTokens: Math.round(num(step, 'prefix_tokens', where, 0)),
      history: step['history'] === true,
      newTokens: Math.round(num(step, 'new_tokens', where, 0)),
      outputTokens: Math.max(1, Math.round(num(step, 'output_tokens', where))),
      afterS: num(step, 'after_s', where, 0),
      ...(typeof stepModel === 'string' ? { model: stepModel } : {}),
      ...(typeof thread === 'string' ? { thread } : {}),
      ...(publish !== undefined ? { publish } : {}),
    };
  });
  return {
    workflow,
    session,
    arrivalS,
    ...(typeof model === 'string' ? { model } : {}),
    steps,
  };
}

export function readReplayFile(path: string): ReplayFile {
  const { items, errors } = readJsonLines(path, parseSessionLine);
  return { sessions: items.sort((a, b) => a.arrivalS - b.arrivalS), errors };
}
