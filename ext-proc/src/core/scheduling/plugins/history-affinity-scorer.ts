import { simpleScorer } from '../plugin.js';

/**
 * Pythia's session pull: 1 for the endpoint the cache manager reserved (warmed) for this
 * session's agent; else, for a sequential step, where the session's last step ran (its
 * history is cached there); 0 elsewhere. Parallel siblings of a fan-out get no pull beyond a
 * reservation: piling a whole fan-out onto one endpoint makes the stage wait for its most
 * crowded replica, and siblings share only the system prompt, which prefix affinity sees.
 */
export const historyAffinityScorer = simpleScorer('history-affinity-scorer', (request, candidates, ctx) => {
  const id = request.identity;
  const preferred = id ? ctx.sessions.preferred(id.workflow, id.session, id.agent, ctx.nowMs()) : null;
  const pull = preferred !== null && (preferred.reserved || request.siblingsInFlight === 0);
  return candidates.map((c) => (pull && c.endpoint.address === preferred.endpoint ? 1 : 0));
});
