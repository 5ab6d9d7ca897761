// protobuf encoding of the NATS state-plane payloads (proto/pythia/v1).
import type protobuf from 'protobufjs';
import type { ReplicaEvent } from './replica-event.js';
import type { RequestStart } from './request-start.js';
import type { WorkflowIdentity } from '../workflow/identifiers.js';
import type { Trace, TraceStatus } from './trace.js';
import type { RegexPart, WorkflowModel } from '../workflow/workflow-model.js';
import { pythiaProtoRoot } from './proto-files.js';

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true };

function type(name: string): protobuf.Type {
  return pythiaProtoRoot().lookupType(`pythia.v1.${name}`);
}

function encode(name: string, value: Record<string, unknown>): Uint8Array {
  const t = type(name);
  return t.encode(t.fromObject(value)).finish();
}

function decode(name: string, bytes: Uint8Array): Record<string, unknown> {
  const t = type(name);
  return t.toObject(t.decode(bytes), TO_OBJECT);
}

export function encodeRequestStart(start: RequestStart): Uint8Array {
  return encode('RequestStart', { ...start });
}

/** Throws on bytes that are not a RequestStart (the caller drops them). */
export function decodeRequestStart(bytes: Uint8Array): RequestStart {
  const o = decode('RequestStart', bytes);
  for (const field of ['requestId', 'workflow', 'session', 'agent']) {
    if (typeof o[field] !== 'string' || o[field] === '') throw new Error(`request start without ${field}`);
  }
  return o as unknown as RequestStart;
}

const STATUSES: readonly TraceStatus[] = ['OK', 'UPSTREAM_ERROR', 'CANCELLED', 'REJECTED'];

export function encodeTrace(trace: Trace): Uint8Array {
  const { cachedTokens, ...rest } = trace;
  return encode('TraceRecord', { ...rest, ...(cachedTokens === null ? {} : { cachedTokens }) });
}

/** Throws on bytes that are not a TraceRecord; the caller counts and drops them. */
export function decodeTrace(bytes: Uint8Array): Trace {
  const t = type('TraceRecord');
  const message = t.decode(bytes) as unknown as { cachedTokens?: number | null };
  const o = t.toObject(message as unknown as protobuf.Message, TO_OBJECT) as Record<string, unknown> & {
    status: string;
  };
  for (const field of ['requestId', 'workflow', 'session', 'agent']) {
    // Random bytes often parse as protobuf; a record without its keys is garbage.
    if (typeof o[field] !== 'string' || o[field] === '') throw new Error(`trace record without ${field}`);
  }
  const status = STATUSES.includes(o.status as TraceStatus) ? (o.status as TraceStatus) : 'OK';
  // proto3 `optional`: presence tells "the upstream reported 0 cached tokens" from "unknown".
  const cached = message.cachedTokens;
  return {
    ...(o as unknown as Trace),
    status,
    cachedTokens: cached === undefined || cached === null ? null : cached,
  };
}

export function encodeModel(model: WorkflowModel): Uint8Array {
  return encode('WorkflowModel', { ...model, structure: model.structure.map((parts) => ({ parts })) });
}

export function decodeModel(bytes: Uint8Array): WorkflowModel {
  const o = decode('WorkflowModel', bytes) as unknown as Omit<WorkflowModel, 'structure'> & {
    structure: Array<{ parts: Array<{ role: string; width: number[]; repeat: number[] }> }>;
  };
  const pair = (v: number[]): readonly [number, number] => [v[0] ?? 1, v[1] ?? v[0] ?? 1];
  const structure: RegexPart[][] = o.structure.map((s) =>
    s.parts.map((p) => ({ role: p.role, width: pair(p.width), repeat: pair(p.repeat) })),
  );
  return { ...o, mode: o.mode === 'proactive' ? 'proactive' : 'shadow', structure };
}

export interface SessionSummary {
  readonly workflow: string;
  readonly session: string;
  readonly requests: ReadonlyArray<{
    readonly agent: string;
    readonly startUnixMs: number;
    readonly endUnixMs: number;
    readonly promptTokens: number;
    readonly outputTokens: number;
    readonly ok: boolean;
  }>;
}

export function encodeSessionSummary(summary: SessionSummary): Uint8Array {
  return encode('SessionSummary', summary as unknown as Record<string, unknown>);
}

export function decodeSessionSummary(bytes: Uint8Array): SessionSummary {
  return decode('SessionSummary', bytes) as unknown as SessionSummary;
}

export interface ScalingDecisionRecord {
  readonly pool: string;
  readonly current: number;
  readonly target: number;
  readonly reason: string;
  readonly forecastReplicas: number;
  readonly reactiveReplicas: number;
  readonly forecastDecodeTokens: readonly number[];
  readonly bucketS: number;
  readonly unixMs: number;
  readonly forecastRequests: readonly number[];
  readonly projectedSessions: number;
  readonly blindSessions: number;
}

export function encodeScalingDecision(d: ScalingDecisionRecord): Uint8Array {
  return encode('ScalingDecision', d as unknown as Record<string, unknown>);
}

export function decodeScalingDecision(bytes: Uint8Array): ScalingDecisionRecord {
  return decode('ScalingDecision', bytes) as unknown as ScalingDecisionRecord;
}

function identityOf(o: unknown, what: string): WorkflowIdentity {
  const id = o as Partial<WorkflowIdentity> | null | undefined;
  if (!id || !id.workflow || !id.session || !id.agent) throw new Error(`replica ${what} without identity`);
  return { workflow: id.workflow, session: id.session, agent: id.agent };
}

let replicaType: protobuf.Type | undefined;
/** Looked up once: replica events are encoded and decoded per request by every replica. */
function replicaEventType(): protobuf.Type {
  replicaType ??= type('ReplicaEvent');
  return replicaType;
}

export function encodeReplicaEvent(event: ReplicaEvent): Uint8Array {
  const { body, ...head } = event;
  let kind: Record<string, unknown>;
  switch (body.kind) {
    case 'heartbeat':
      kind = { heartbeat: { inFlight: body.inFlight } };
      break;
    case 'start': {
      // Built field by field, in one shape (spreads of optional parts made encoding slower).
      const start = {
        flight: body.flight,
        identity: body.identity,
        endpoint: body.endpoint,
        reservedTokens: body.reservedTokens,
        overflow: body.overflow,
        decodeTokens: body.decodeTokens,
        prefixHashes: body.prefixHashes,
        // Absent parts are undefined, which the encoder skips (no bytes on the wire).
        promptModel: body.prompt?.model,
        promptSystem: body.prompt?.system,
        hasOrder: body.order ? true : undefined,
        orderIndex: body.order?.index,
        orderHash: body.order?.hash,
        // Usually none: only a request that raced its predecessor's end proves one.
        settleIndex: body.settles.length > 0 ? body.settles.map((m) => m.index) : undefined,
        settleHash: body.settles.length > 0 ? body.settles.map((m) => m.hash) : undefined,
      };
      kind = { start };
      break;
    }
    case 'end': {
      const { kind: _k, history, ...rest } = body;
      kind = {
        end: {
          ...rest,
          ...(history ? { hasHistory: true, historyModel: history.model, history: history.messages } : {}),
        },
      };
      break;
    }
    case 'reserve': {
      const { kind: _k, ...rest } = body;
      kind = { reserve: rest };
      break;
    }
    case 'identity': {
      const { kind: _k, chainEnd, ...rest } = body;
      kind = { identity: { ...rest, ...(chainEnd !== null ? { chainEnd, hasChainEnd: true } : {}) } };
      break;
    }
  }
  // Plain values of the proto's types: encoded as they are (no fromObject on the hot path).
  return replicaEventType()
    .encode({ ...head, ...kind })
    .finish();
}

interface DecodedIdentity {
  workflow: string;
  session: string;
  agent: string;
}

/** Throws on bytes that are not a ReplicaEvent (the reader counts and drops them). */
export function decodeReplicaEvent(bytes: Uint8Array): ReplicaEvent {
  const o = replicaEventType().decode(bytes) as unknown as {
    replica: string;
    seq: number;
    unixMs: number;
    kind?: string;
    heartbeat?: { inFlight: number };
    start?: {
      flight: number;
      identity?: DecodedIdentity | null;
      endpoint: string;
      reservedTokens: number;
      overflow: number;
      decodeTokens: number;
      prefixHashes: number[];
      promptModel: string;
      promptSystem: string;
      hasOrder: boolean;
      orderIndex: number;
      orderHash: number;
      settleIndex: number[];
      settleHash: number[];
    };
    end?: {
      flight: number;
      identity?: DecodedIdentity | null;
      sessionEnd: boolean;
      hasHistory: boolean;
      historyModel: string;
      history: Array<{ role: string; content: string }>;
    };
    reserve?: { identity?: DecodedIdentity | null; endpoint: string; forMs: number; warmHashes: number[] };
    identity?: {
      session: string;
      workflow: string;
      admitted: boolean;
      newSession: boolean;
      role: string;
      roleEstablished: boolean;
      chainEnd: number;
      hasChainEnd: boolean;
    };
  };
  if (!o.replica || !(o.seq >= 1)) throw new Error('replica event without replica or seq');
  const head = { replica: o.replica, seq: o.seq, unixMs: o.unixMs };
  if (o.kind === 'heartbeat' && o.heartbeat)
    return { ...head, body: { kind: 'heartbeat', inFlight: o.heartbeat.inFlight } };
  if (o.kind === 'start' && o.start) {
    const s = o.start;
    return {
      ...head,
      body: {
        kind: 'start',
        flight: s.flight,
        identity: identityOf(s.identity, 'start'),
        endpoint: s.endpoint,
        reservedTokens: s.reservedTokens,
        overflow: s.overflow,
        decodeTokens: s.decodeTokens,
        prefixHashes: [...s.prefixHashes],
        prompt: s.promptSystem ? { model: s.promptModel, system: s.promptSystem } : null,
        order: s.hasOrder ? { index: s.orderIndex, hash: s.orderHash } : null,
        settles: s.settleHash.map((hash, i) => ({ index: s.settleIndex[i] ?? 0, hash })),
      },
    };
  }
  if (o.kind === 'end' && o.end) {
    const e = o.end;
    return {
      ...head,
      body: {
        kind: 'end',
        flight: e.flight,
        identity: identityOf(e.identity, 'end'),
        sessionEnd: e.sessionEnd,
        history: e.hasHistory
          ? { model: e.historyModel, messages: e.history.map((m) => ({ role: m.role, content: m.content })) }
          : null,
      },
    };
  }
  if (o.kind === 'reserve' && o.reserve) {
    const r = o.reserve;
    return {
      ...head,
      body: {
        kind: 'reserve',
        identity: identityOf(r.identity, 'reserve'),
        endpoint: r.endpoint,
        forMs: r.forMs,
        warmHashes: [...r.warmHashes],
      },
    };
  }
  if (o.kind === 'identity' && o.identity) {
    const i = o.identity;
    if (!i.session || !i.workflow || !i.role) throw new Error('replica identity without ids');
    return {
      ...head,
      body: {
        kind: 'identity',
        session: i.session,
        workflow: i.workflow,
        admitted: i.admitted,
        newSession: i.newSession,
        role: i.role,
        roleEstablished: i.roleEstablished,
        chainEnd: i.hasChainEnd ? i.chainEnd : null,
      },
    };
  }
  throw new Error('replica event of no known kind');
}
