import { simpleScorer } from '../plugin.js';

/**
 * 1 for the endpoint reserved for this session's agent by the cache manager (it was
 * warmed), or else where the session's last step ran (its history is cached there); 0 elsewhere.
 */
export const sessionAffinityScorer = simpleScorer('session-affinity-scorer', (request, candidates, ctx) => {
  const id = request.identity;
  const preferred = id ? ctx.sessions.preferred(id.workflow, id.session, id.agent, ctx.nowMs()) : null;
  return candidates.map((c) => (preferred && c.endpoint.address === preferred.endpoint ? 1 : 0));
});
