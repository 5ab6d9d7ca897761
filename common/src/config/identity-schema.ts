// The `identity:` section: where a request's workflow, session and agent come from when the
// application sends no Pythia headers (see core/src/identity/resolver.ts, docs/identity.md).
import { z } from 'zod';
import {
  DEFAULT_PARENT_HEADERS,
  DEFAULT_SESSION_HEADERS,
} from '../../../core/src/identity/native-session.js';
import type { IdentitySettings } from '../../../core/src/identity/resolver.js';

/** Agent clients use underscores too (Codex's `session_id`); Envoy passes them by default. */
const clientHeaderName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'expected a lower-case HTTP header name' });
const positiveInt = z.number().int().positive();

const pattern = z.string().refine(
  (p) => {
    try {
      new RegExp(p, 'g');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a JavaScript regular expression' },
);

export const identitySchema = z.strictObject({
  /** Use the three Pythia headers (names under `headers:`) when a request carries them. */
  headers: z.boolean().default(true),
  native: z
    .strictObject({
      enabled: z.boolean().default(true),
      session_headers: z.array(clientHeaderName).default([...DEFAULT_SESSION_HEADERS]),
      parent_headers: z.array(clientHeaderName).default([...DEFAULT_PARENT_HEADERS]),
    })
    .prefault({}),
  /** Without a session header, a request extending an earlier conversation continues its session. */
  chaining: z.boolean().default(true),
  /** Extra patterns masked out of instructions before fingerprinting (built-in: dates, UUIDs, hex ids). */
  mask_patterns: z.array(pattern).default([]),
  /** Display names for fingerprint ids: `r-…` roles, `wf-…` workflows. */
  aliases: z
    .record(
      z.string().regex(/^(r|wf)-[0-9a-z]{8}$/),
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/),
    )
    .default({}),
  tenant_header: clientHeaderName.optional(),
  by_route: z.boolean().default(false),
  min_sessions: positiveInt.default(2),
  min_requests: positiveInt.default(2),
  max_sessions: positiveInt.default(100_000),
  max_workflows: positiveInt.default(1000),
  max_roles: positiveInt.default(10_000),
  max_bytes: positiveInt.default(64 * 1024 * 1024),
  session_idle_s: positiveInt.default(900),
  established_idle_s: positiveInt.default(86_400),
});

export type IdentityConfig = z.output<typeof identitySchema>;

/** The resolver's settings from the `identity:`, `headers:` and `identifiers:` sections. */
export function identitySettings(
  identity: IdentityConfig,
  headers: { workflow: string; session: string; agent: string },
  maxIdentifierLength: number,
): IdentitySettings {
  return {
    pythiaHeaders: { workflow: headers.workflow, session: headers.session, agent: headers.agent },
    maxIdentifierLength,
    useHeaders: identity.headers,
    native: identity.native.enabled
      ? { session: identity.native.session_headers, parent: identity.native.parent_headers }
      : null,
    chaining: identity.chaining,
    maskPatterns: identity.mask_patterns,
    aliases: identity.aliases,
    tenantHeader: identity.tenant_header ?? null,
    byRoute: identity.by_route,
    minSessions: identity.min_sessions,
    minRequests: identity.min_requests,
    maxSessions: identity.max_sessions,
    maxWorkflows: identity.max_workflows,
    maxRoles: identity.max_roles,
    maxBytes: identity.max_bytes,
    sessionIdleMs: identity.session_idle_s * 1000,
    establishedIdleMs: identity.established_idle_s * 1000,
  };
}
