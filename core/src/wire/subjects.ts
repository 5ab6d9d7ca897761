// NATS names of the state plane. Documented in docs/headers-and-nats.md.

export const TRACE_STREAM = 'PYTHIA_TRACES';
export const TRACE_SUBJECT = 'pythia.traces.v1';
export const TRACE_CONSUMER = 'profiler';

export const SESSION_STREAM = 'PYTHIA_SESSIONS';
export const SESSION_SUBJECT_PREFIX = 'pythia.sessions';

export const MODEL_BUCKET = 'PYTHIA_MODELS';

/** Core NATS (not stored): workflow requests as ext-proc routes them (for the autoscaler). */
export const STARTS_SUBJECT = 'pythia.starts.v1';

/** Core NATS (not stored): each ext-proc replica's in-flight load. */
export const LOAD_SUBJECT = 'pythia.load.v1';

/**
 * Encodes an identifier as one KV key or subject token: characters outside
 * `[A-Za-z0-9_-]` become `=HH` (their code in hex). Our identifiers are ASCII, so this is
 * reversible and keeps common names readable.
 */
export function encodeToken(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function decodeToken(token: string): string {
  return token.replace(/=([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export function sessionSubject(workflow: string): string {
  return `${SESSION_SUBJECT_PREFIX}.${encodeToken(workflow)}`;
}

/** Autoscaling decisions: core subject per pool, and the latest per pool in a KV bucket. */
export const SCALING_SUBJECT_PREFIX = 'pythia.scaling';
export const SCALING_BUCKET = 'PYTHIA_SCALING';
