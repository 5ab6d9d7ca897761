// NATS names of the state plane. Documented in docs/headers-and-nats.md.

export const TRACE_STREAM = 'PYTHIA_TRACES';
export const TRACE_SUBJECT = 'pythia.traces.v1';
export const TRACE_CONSUMER = 'profiler';

export const SESSION_STREAM = 'PYTHIA_SESSIONS';
export const SESSION_SUBJECT_PREFIX = 'pythia.sessions';

export const MODEL_BUCKET = 'PYTHIA_MODELS';

/** Core NATS (not stored): workflow requests as ext-proc routes them (for the autoscaler). */
export const STARTS_SUBJECT = 'pythia.starts.v1';

/**
 * Each ext-proc replica's live-session events (request start and end, reservations,
 * heartbeats), read by every other replica; kept briefly in a memory stream so a new
 * replica catches up before it reports ready.
 */
export const REPLICA_SUBJECT = 'pythia.replica.v1';
export const REPLICA_STREAM = 'PYTHIA_REPLICA';

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
