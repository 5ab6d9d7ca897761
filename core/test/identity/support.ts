// The resolver settings the identity tests start from (small bounds, default admission).
import { DEFAULT_PARENT_HEADERS, DEFAULT_SESSION_HEADERS } from '../../src/identity/native-session.js';
import type { IdentitySettings } from '../../src/identity/resolver.js';

export const SETTINGS: IdentitySettings = {
  pythiaHeaders: { workflow: 'x-pythia-workflow', session: 'x-pythia-session', agent: 'x-pythia-agent' },
  maxIdentifierLength: 128,
  useHeaders: true,
  native: { session: DEFAULT_SESSION_HEADERS, parent: DEFAULT_PARENT_HEADERS },
  chaining: true,
  maskPatterns: [],
  aliases: {},
  tenantHeader: null,
  byRoute: false,
  minSessions: 2,
  minRequests: 2,
  maxSessions: 1000,
  maxWorkflows: 50,
  maxRoles: 200,
  maxBytes: 4 * 1024 * 1024,
  sessionIdleMs: 900_000,
  establishedIdleMs: 86_400_000,
};
