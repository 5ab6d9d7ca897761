// What the simulated clients send to say who they are (`npm run bench -- --identity`):
//   headers  the three Pythia headers (an application that threads them);
//   native   only a Claude-Code-style session header (`x-claude-code-session-id`);
//   none     nothing but the OpenAI body.
// Every mode sends the same body: each role's system prompt (a deterministic text per role)
// with per-session noise (a date, a run id) that fingerprinting must mask, and the session's
// context as the chat messages an agent framework would resend.
import type { SessionPlan, StepPlan } from '../../../test-support/src/workloads/session-plan.js';
import { type Run, runText } from './token-streams.js';

export const IDENTITY_MODES = ['headers', 'native', 'none'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

/** A small deterministic hash of a session name, for its noise. */
function sessionHash(session: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < session.length; i++) h = Math.imul(h ^ session.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * A role's system prompt: its text (`roleText`, the same for every session) followed by what
 * changes from run to run, as agent CLIs write today's date and a run id into theirs.
 */
export function instructions(roleText: string, plan: SessionPlan): string {
  const h = sessionHash(plan.session);
  const day = String((h % 28) + 1).padStart(2, '0');
  const month = String(((h >>> 5) % 12) + 1).padStart(2, '0');
  const runId = (h.toString(16) + sessionHash(`${plan.session}#run`).toString(16)).padStart(16, '0');
  return `${roleText}\nToday's date is 2026-${month}-${day}. Run id: ${runId}.`;
}

/** The context and fresh text as chat messages: outputs as the assistant's, the rest as the user's. */
export function messagesOf(runs: readonly Run[]): { role: string; content: string }[] {
  return runs.map((run) => ({
    role: run.key.endsWith(':out') ? 'assistant' : 'user',
    content: runText(run),
  }));
}

export function clientHeaders(mode: IdentityMode, plan: SessionPlan, step: StepPlan): Map<string, string> {
  switch (mode) {
    case 'headers':
      return new Map([
        ['x-pythia-workflow', plan.workflow],
        ['x-pythia-session', plan.session],
        ['x-pythia-agent', step.agent],
      ]);
    case 'native':
      return new Map([['x-claude-code-session-id', plan.session]]);
    case 'none':
      return new Map();
  }
}
