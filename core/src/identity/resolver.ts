// Who sent a request, in workflow terms, from whatever it carries, in order:
//   1. headers:  the three Pythia headers (x-pythia-workflow / -session / -agent), as sent;
//   2. native:   the session id an agent client already sends (Claude Code, OpenCode,
//                Codex, configured others; a parent session wins), with the role and the
//                workflow inferred as in 3;
//   3. inferred: the session from conversation chaining, the agent role from the
//                fingerprint of the instructions, the workflow type from the fingerprint of
//                the session's entry role (its first request), optionally with the tenant
//                and the route.
// Each source can be switched off. Inferred names must be established (seen in a few
// sessions or requests, see Admission) before they are used; until then the request is
// ordinary traffic. All state is bounded by count, bytes and idle time; prompt text is only
// hashed, never kept. With several ext-proc replicas, what one resolves goes to the others as
// an IdentityShare (ids and hashes only) that they fold in with apply(), so a session keeps
// its id and workflow type whichever replica each of its requests reaches.
import type { Clock } from '../clock.js';
import { conversationPrefixHashes, hashText, instructionText } from '../prompt/prefix-hash.js';
import { type IdentifierRejection, type WorkflowIdentity, parseIdentity } from '../workflow/identifiers.js';
import { Admission } from './admission.js';
import { BoundedLru } from './bounded-lru.js';
import { ConversationChains } from './conversation-chain.js';
import { type Normaliser, createNormaliser, fingerprintId } from './fingerprint.js';
import { type NativeSessionHeaders, nativeSession } from './native-session.js';

/** Where a request's identity came from (`none`: ordinary traffic). */
export type IdentitySource = 'headers' | 'native' | 'inferred' | 'none';

export const IDENTITY_SOURCES: readonly IdentitySource[] = ['headers', 'native', 'inferred', 'none'];

/** Inferred workflow ids start with this; header-supplied workflows should not. */
export const INFERRED_WORKFLOW_PREFIX = 'wf-';
export const INFERRED_ROLE_PREFIX = 'r-';
/** The role of requests whose instructions are not (yet) an established fingerprint. */
export const OTHER_ROLE = 'r-other';

export interface IdentitySettings {
  readonly pythiaHeaders: { readonly workflow: string; readonly session: string; readonly agent: string };
  readonly maxIdentifierLength: number;
  readonly useHeaders: boolean;
  /** Null: native session headers are ignored. */
  readonly native: NativeSessionHeaders | null;
  readonly chaining: boolean;
  /** Extra regular expressions masked out of instructions before fingerprinting. */
  readonly maskPatterns: readonly string[];
  /** Display names by fingerprint id (`r-…` for roles, `wf-…` for workflows). */
  readonly aliases: Readonly<Record<string, string>>;
  /** A header whose value (the tenant) is part of the workflow type; null: none. */
  readonly tenantHeader: string | null;
  /** The request path is part of the workflow type. */
  readonly byRoute: boolean;
  /** Sessions a workflow fingerprint must start before it is used. */
  readonly minSessions: number;
  /** Requests a role fingerprint must be seen in before it is used. */
  readonly minRequests: number;
  readonly maxSessions: number;
  readonly maxWorkflows: number;
  readonly maxRoles: number;
  /** Estimated bytes of all the resolver's tables together, overhead included. */
  readonly maxBytes: number;
  readonly sessionIdleMs: number;
  readonly establishedIdleMs: number;
}

export interface IdentityRequest {
  /** Values of the headers named in `IdentityResolver.headerNames` (lower-case names). */
  readonly headers: ReadonlyMap<string, string>;
  readonly path: string;
  readonly json: Record<string, unknown>;
}

export interface ResolvedIdentity {
  readonly identity: WorkflowIdentity | null;
  readonly source: IdentitySource;
  /** Invalid Pythia headers (the request is then ordinary traffic). */
  readonly rejections: readonly IdentifierRejection[];
  /**
   * Set when the identity's agent is `r-other` only because the role's fingerprint is not
   * established yet: that fingerprint id (never text). The request carries it to its end,
   * where `traceAgent` names the role in its trace if it was established meanwhile.
   */
  readonly pendingRole?: string;
}

interface SessionState {
  readonly workflow: string;
  /** The workflow was established when the session began: its requests carry identities. */
  readonly admitted: boolean;
}

/**
 * What a replica tells the others about a request it identified without the Pythia headers:
 * ids and hashes, never text. Folded in by `IdentityResolver.apply`.
 */
export interface IdentityShare {
  readonly session: string;
  /** The session's workflow type, and whether it was established when the session began. */
  readonly workflow: string;
  readonly admitted: boolean;
  /** The request began the session (one sighting of its workflow type). */
  readonly newSession: boolean;
  readonly role: string;
  /** The role was established once this request was counted. */
  readonly roleEstablished: boolean;
  /** The last of the conversation's prefix hashes (chaining), or null (a native session). */
  readonly chainEnd: number | null;
}

const NONE: ResolvedIdentity = { identity: null, source: 'none', rejections: [] };

/**
 * The identity the three Pythia headers give: `headers` when all are valid, `none` with
 * rejections when some are sent but not all valid, `none` without rejections when none is sent.
 */
export function pythiaHeaderIdentity(
  headers: ReadonlyMap<string, string>,
  names: IdentitySettings['pythiaHeaders'],
  maxIdentifierLength: number,
): ResolvedIdentity {
  const parsed = parseIdentity(
    {
      workflow: headers.get(names.workflow),
      session: headers.get(names.session),
      agent: headers.get(names.agent),
    },
    maxIdentifierLength,
  );
  return parsed.kind === 'workflow'
    ? { identity: parsed.identity, source: 'headers', rejections: [] }
    : { identity: null, source: 'none', rejections: parsed.rejections };
}

export class IdentityResolver {
  /** Every header the resolver reads: ask the edge for these. */
  readonly headerNames: ReadonlySet<string>;
  private readonly normalise: Normaliser;
  /** Sessions of established workflow types, and the rest (a flood of the latter evicts only them). */
  private readonly sessions: BoundedLru<SessionState>;
  private readonly probation: BoundedLru<SessionState>;
  private readonly chains: ConversationChains;
  private readonly workflows: Admission;
  private readonly roles: Admission;
  /** Role ids by the hash of the raw instructions: agents resend the same text on every call. */
  private readonly roleIds: BoundedLru<string>;

  constructor(
    private readonly settings: IdentitySettings,
    clock: Clock,
    /** Where what this replica resolves goes for the other replicas (null: it is alone). */
    private readonly share: ((share: IdentityShare) => void) | null = null,
  ) {
    const names = new Set<string>();
    if (settings.useHeaders) for (const n of Object.values(settings.pythiaHeaders)) names.add(n);
    for (const n of settings.native?.session ?? []) names.add(n);
    for (const n of settings.native?.parent ?? []) names.add(n);
    if (settings.tenantHeader) names.add(settings.tenantHeader);
    this.headerNames = names;
    this.normalise = createNormaliser(settings.maskPatterns);
    // Byte budget: sessions 3/16 (established workflow types) + 1/16 (the rest), conversation
    // ends 5/16 + 2/16, each admission table 2/16, the role-id cache 1/16.
    const b = settings.maxBytes;
    const idleMs = settings.sessionIdleMs;
    const n = settings.maxSessions;
    this.sessions = new BoundedLru({ maxEntries: n, maxBytes: (b * 3) / 16, idleMs }, clock);
    this.probation = new BoundedLru({ maxEntries: n, maxBytes: b / 16, idleMs }, clock);
    this.chains = new ConversationChains({ maxEntries: n * 4, maxBytes: (b * 5) / 16, idleMs }, clock, {
      maxEntries: n * 4,
      maxBytes: (b * 2) / 16,
      idleMs,
    });
    const admission = (minCount: number, maxEstablished: number) =>
      new Admission(
        {
          minCount,
          maxEstablished,
          maxCandidates: maxEstablished * 4,
          maxBytes: b / 8,
          candidateIdleMs: idleMs,
          establishedIdleMs: settings.establishedIdleMs,
        },
        clock,
      );
    this.workflows = admission(settings.minSessions, settings.maxWorkflows);
    this.roles = admission(settings.minRequests, settings.maxRoles);
    this.roleIds = new BoundedLru({ maxEntries: settings.maxRoles, maxBytes: b / 16, idleMs }, clock);
  }

  resolve(request: IdentityRequest): ResolvedIdentity {
    const s = this.settings;
    if (s.useHeaders) {
      const fromHeaders = pythiaHeaderIdentity(request.headers, s.pythiaHeaders, s.maxIdentifierLength);
      if (fromHeaders.identity || fromHeaders.rejections.length > 0) return fromHeaders;
    }
    const native = s.native ? nativeSession(request.headers, s.native) : null;
    if (!native && !s.chaining) return NONE;
    const instructions = instructionText(request.json);
    // Without instructions there is no role to learn: ordinary traffic.
    if (instructions.length === 0) return NONE;
    const roleId = this.roleId(instructions);

    let session: string;
    let source: IdentitySource;
    let chainEnd: number | null = null;
    if (native) {
      session = native.session;
      source = 'native';
    } else {
      const hashes = conversationPrefixHashes(request.json);
      chainEnd = hashes[hashes.length - 1] ?? null;
      if (chainEnd === null) return NONE;
      session = this.chains.find(hashes) ?? chainSessionId(chainEnd);
      source = 'inferred';
    }

    let state = this.session(session);
    const newSession = state === undefined;
    if (!state) {
      const workflow = this.workflowId(roleId, request);
      state = { workflow, admitted: this.workflows.note(workflow) };
      this.remember(session, state);
    }
    if (chainEnd !== null) this.chains.rememberEnd(chainEnd, session, state.admitted);
    const roleWasKnown = this.roles.has(roleId);
    const roleKnown = roleWasKnown || this.roles.note(roleId);
    // Only what the others would not know already: a new session, a role sighting that
    // counts, a conversation end.
    if (this.share && (newSession || !roleWasKnown || chainEnd !== null))
      this.share({
        session,
        workflow: state.workflow,
        admitted: state.admitted,
        newSession,
        role: roleId,
        roleEstablished: roleKnown,
        chainEnd,
      });
    if (!state.admitted) return { identity: null, source: 'none', rejections: [] };
    const identity = {
      workflow: state.workflow,
      session,
      agent: roleKnown ? this.roleName(roleId) : OTHER_ROLE,
    };
    return roleKnown
      ? { identity, source, rejections: [] }
      : { identity, source, rejections: [], pendingRole: roleId };
  }

  /**
   * The agent a request's trace names, for a request resolved with `pendingRole`: the role's
   * own name if its fingerprint has been established since (by a later request here, or a
   * sighting another replica shared), else `r-other`. A role's first requests run concurrently
   * with its next ones in a burst, so the profiler then learns them as the headers give them.
   * Counts no sighting: a fingerprint seen only once (a flood of one-off prompts) stays
   * `r-other`, and nothing is kept per request beyond the id the request itself carries.
   */
  traceAgent(pendingRole: string): string {
    return this.roles.has(pendingRole) ? this.roleName(pendingRole) : OTHER_ROLE;
  }

  private roleName(roleId: string): string {
    return this.settings.aliases[roleId] ?? roleId;
  }

  /**
   * Folds in what another replica resolved, as if this one had: its conversation end, its
   * session (unless known here: the first seen wins), and its sightings of the workflow type
   * and the role. Everything goes through the same bounded tables as local requests.
   */
  apply(share: IdentityShare): void {
    if (share.chainEnd !== null) this.chains.rememberEnd(share.chainEnd, share.session, share.admitted);
    if (this.session(share.session) === undefined) {
      if (share.newSession) this.workflows.sighted(share.workflow, share.admitted);
      this.remember(share.session, { workflow: share.workflow, admitted: share.admitted });
    }
    this.roles.sighted(share.role, share.roleEstablished);
  }

  private session(id: string): SessionState | undefined {
    return this.sessions.get(id) ?? this.probation.get(id);
  }

  private remember(id: string, state: SessionState): void {
    (state.admitted ? this.sessions : this.probation).set(id, state, state.workflow.length * 2 + 16);
  }

  private roleId(instructions: string): string {
    // Keyed by the raw text's hash and length (a collision needs both to agree).
    const key = `${hashText(instructions).toString(36)}:${instructions.length}`;
    const cached = this.roleIds.get(key);
    if (cached !== undefined) return cached;
    const id = INFERRED_ROLE_PREFIX + fingerprintId(this.normalise(instructions));
    this.roleIds.set(key, id, id.length * 2);
    return id;
  }

  /** The workflow type: the entry role's fingerprint, with the tenant and route when configured. */
  private workflowId(roleId: string, request: IdentityRequest): string {
    const s = this.settings;
    let key = roleId;
    if (s.tenantHeader) key += `\u0000${request.headers.get(s.tenantHeader) ?? ''}`;
    if (s.byRoute) key += `\u0000${request.path}`;
    const id =
      INFERRED_WORKFLOW_PREFIX +
      (key === roleId ? roleId.slice(INFERRED_ROLE_PREFIX.length) : fingerprintId(key));
    return s.aliases[id] ?? id;
  }

  /** Estimated bytes held by all tables, overhead included. */
  get bytes(): number {
    return (
      this.sessions.bytes +
      this.probation.bytes +
      this.chains.bytes +
      this.workflows.bytes +
      this.roles.bytes +
      this.roleIds.bytes
    );
  }

  get stats(): { sessions: number; conversations: number; workflows: number; roles: number } {
    return {
      sessions: this.sessions.size + this.probation.size,
      conversations: this.chains.size,
      workflows: this.workflows.establishedCount,
      roles: this.roles.establishedCount,
    };
  }
}

/**
 * A chained session's id, from the end of its first request's conversation: the same on every
 * replica (a session begun on two at once by identical conversations is one, as on one
 * replica), and new, as no earlier conversation ends there (find() would have found it).
 */
function chainSessionId(chainEnd: number): string {
  return `c-${fingerprintId(chainEnd.toString(36))}`;
}

/** True for workflow names the resolver makes (fingerprint ids, or their configured aliases). */
export function isInferredWorkflow(
  workflow: string,
  aliases: Readonly<Record<string, string>> = {},
): boolean {
  if (workflow.startsWith(INFERRED_WORKFLOW_PREFIX)) return true;
  for (const [id, alias] of Object.entries(aliases)) {
    if (alias === workflow && id.startsWith(INFERRED_WORKFLOW_PREFIX)) return true;
  }
  return false;
}
