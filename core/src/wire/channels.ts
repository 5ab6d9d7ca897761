// The state plane in one table: each NATS subject, stream and bucket with the payload it
// carries and that payload's codec, so a publisher and its readers cannot disagree on
// either. Names are in subjects.ts (documented in the README), codecs in codec.ts.
import {
  type ScalingDecisionRecord,
  type SessionSummary,
  decodeReplicaEvent,
  decodeModel,
  decodeRequestStart,
  decodeScalingDecision,
  decodeSessionSummary,
  decodeTrace,
  encodeReplicaEvent,
  encodeModel,
  encodeRequestStart,
  encodeScalingDecision,
  encodeSessionSummary,
  encodeTrace,
} from './codec.js';
import type { ReplicaEvent } from './replica-event.js';
import type { RequestStart } from './request-start.js';
import {
  REPLICA_STREAM,
  REPLICA_SUBJECT,
  MODEL_BUCKET,
  SCALING_BUCKET,
  SCALING_SUBJECT_PREFIX,
  SESSION_STREAM,
  SESSION_SUBJECT_PREFIX,
  STARTS_SUBJECT,
  TRACE_CONSUMER,
  TRACE_STREAM,
  TRACE_SUBJECT,
  decodeToken,
  encodeToken,
  sessionSubject,
} from './subjects.js';
import type { Trace } from './trace.js';
import type { WorkflowModel } from '../workflow/workflow-model.js';

export interface Codec<T> {
  encode(value: T): Uint8Array;
  /** Throws on bytes that are not a T (the reader counts and drops them). */
  decode(bytes: Uint8Array): T;
}

/** A codec with the NATS names it is used on (subject, stream, bucket, key helpers). */
type Channel<T> = Codec<T> & Readonly<Record<string, unknown>>;

/** Completed workflow requests: ext-proc -> profiler (durable consumer) and autoscaler. */
export const TRACES = {
  stream: TRACE_STREAM,
  subject: TRACE_SUBJECT,
  /** The profiler's durable consumer. */
  consumer: TRACE_CONSUMER,
  encode: encodeTrace,
  decode: decodeTrace,
} as const satisfies Channel<Trace>;

/** Requests as ext-proc routes them (core NATS, not stored): ext-proc -> autoscaler. */
export const REQUEST_STARTS = {
  subject: STARTS_SUBJECT,
  encode: encodeRequestStart,
  decode: decodeRequestStart,
} as const satisfies Channel<RequestStart>;

/** Completed sessions, one subject per workflow: the profiler's training set across restarts. */
export const SESSION_SUMMARIES = {
  stream: SESSION_STREAM,
  /** Every workflow's subject (the stream's filter). */
  subjects: `${SESSION_SUBJECT_PREFIX}.>`,
  subjectFor: sessionSubject,
  encode: encodeSessionSummary,
  decode: decodeSessionSummary,
} as const satisfies Channel<SessionSummary>;

/**
 * Live-session events of each ext-proc replica: ext-proc <-> ext-proc. Published on core
 * NATS (read live by every replica) and captured by a short-lived memory stream that a
 * starting replica reads before it reports ready.
 */
export const REPLICA_EVENTS = {
  stream: REPLICA_STREAM,
  subject: REPLICA_SUBJECT,
  encode: encodeReplicaEvent,
  decode: decodeReplicaEvent,
} as const satisfies Channel<ReplicaEvent>;

/** Replica targets: a core subject per pool, and the latest per pool in a KV bucket. */
export const SCALING_DECISIONS = {
  bucket: SCALING_BUCKET,
  subjectFor: (pool: string) => `${SCALING_SUBJECT_PREFIX}.${encodeToken(pool)}`,
  keyFor: encodeToken,
  encode: encodeScalingDecision,
  decode: decodeScalingDecision,
} as const satisfies Channel<ScalingDecisionRecord>;

/** Workflow models, one KV key per workflow: profiler -> ext-proc and autoscaler. */
export const WORKFLOW_MODELS = {
  bucket: MODEL_BUCKET,
  keyFor: encodeToken,
  workflowOf: decodeToken,
  encode: encodeModel,
  decode: decodeModel,
} as const satisfies Channel<WorkflowModel>;
