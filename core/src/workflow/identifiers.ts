// Workflow identifiers arrive in client headers: untrusted. They are accepted only when
// short and made of a safe charset, so they can be used as map keys, NATS KV keys (after
// encoding) and log fields without escaping surprises. Anything else makes the request
// plain (non-workflow) traffic; it is never rejected for it.

export interface WorkflowIdentity {
  readonly workflow: string;
  readonly session: string;
  readonly agent: string;
}

/** One session's key in the tables that track sessions (the session id is unique per workflow). */
export const sessionKey = (workflow: string, session: string): string => `${workflow}\u0000${session}`;

export type IdentifierName = 'workflow' | 'session' | 'agent';
export type IdentifierProblem = 'too_long' | 'bad_charset' | 'missing';

export interface IdentifierRejection {
  readonly name: IdentifierName;
  readonly problem: IdentifierProblem;
}

export type IdentityResult =
  | { readonly kind: 'workflow'; readonly identity: WorkflowIdentity }
  | { readonly kind: 'plain'; readonly rejections: readonly IdentifierRejection[] };

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/;

function check(value: string | undefined, maxLength: number): IdentifierProblem | null {
  if (value === undefined || value === '') return 'missing';
  if (value.length > maxLength) return 'too_long';
  if (!SAFE.test(value)) return 'bad_charset';
  return null;
}

/**
 * All three identifiers must be valid for the request to be workflow traffic. A request
 * with none of them is ordinary traffic and reports no rejection.
 */
export function parseIdentity(
  raw: { workflow?: string | undefined; session?: string | undefined; agent?: string | undefined },
  maxLength: number,
): IdentityResult {
  if (raw.workflow === undefined && raw.session === undefined && raw.agent === undefined) {
    return { kind: 'plain', rejections: [] };
  }
  const rejections: IdentifierRejection[] = [];
  for (const name of ['workflow', 'session', 'agent'] as const) {
    const problem = check(raw[name], maxLength);
    if (problem) rejections.push({ name, problem });
  }
  if (rejections.length > 0) return { kind: 'plain', rejections };
  return {
    kind: 'workflow',
    identity: {
      workflow: raw.workflow as string,
      session: raw.session as string,
      agent: raw.agent as string,
    },
  };
}
