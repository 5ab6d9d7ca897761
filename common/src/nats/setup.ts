// Creates (or updates) the streams and bucket the services share. Idempotent: every
// service calls it at start, so none depends on another having run first.
import {
  type JetStreamManager,
  type KV,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import type { PythiaConfig } from '../config/schema.js';
import { SESSION_SUMMARIES, TRACES, WORKFLOW_MODELS } from '../../../core/src/wire/channels.js';

export interface StreamLimits {
  /** How long traces are kept for the profiler to consume. */
  readonly traceMaxAgeS: number;
  readonly traceMaxBytes: number;
  /** Completed sessions kept per workflow (the profiler's training set across restarts). */
  readonly sessionsPerWorkflow: number;
}

export function streamLimits(config: PythiaConfig): StreamLimits {
  return {
    traceMaxAgeS: config.nats?.trace_max_age_s ?? 86_400,
    traceMaxBytes: config.nats?.trace_max_bytes ?? 1024 ** 3,
    sessionsPerWorkflow: config.profiler.limits.max_sessions_kept,
  };
}

/** Creates the stream, or updates it to `config` where it exists. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    await jsm.streams.add(config);
  }
}

export async function ensureStateStreams(nc: NatsConnection, limits: StreamLimits): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, {
    name: TRACES.stream,
    subjects: [TRACES.subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(limits.traceMaxAgeS * 1000),
    max_bytes: limits.traceMaxBytes,
    // Retried publishes carry the request id as Nats-Msg-Id and are stored once.
    duplicate_window: nanos(120_000),
  });
  await ensureStream(jsm, {
    name: SESSION_SUMMARIES.stream,
    subjects: [SESSION_SUMMARIES.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_msgs_per_subject: limits.sessionsPerWorkflow,
  });
}

export async function modelBucket(nc: NatsConnection): Promise<KV> {
  return nc.jetstream().views.kv(WORKFLOW_MODELS.bucket, { history: 5, storage: StorageType.File });
}
