// Human-readable report of learned models, for the CLI and logs.
import { isInferredWorkflow } from '../../../core/src/identity/resolver.js';
import { END_ROLE, type WorkflowModel } from '../../../core/src/workflow/workflow-model.js';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

type Aliases = Readonly<Record<string, string>>;

/** `inferred` for workflows the identity resolver named (see docs/identity.md), else `headers`. */
export function identitySource(workflow: string, aliases: Aliases = {}): 'inferred' | 'headers' {
  return isInferredWorkflow(workflow, aliases) ? 'inferred' : 'headers';
}

export function modelReport(model: WorkflowModel, topTransitions = 8, aliases: Aliases = {}): string {
  const lines: string[] = [];
  lines.push(
    `workflow ${model.workflow}  (version ${model.version}, ${model.mode}, ${model.sessions} sessions, identity ${identitySource(model.workflow, aliases)})`,
  );
  lines.push(`  regex:                 ${model.regex || '(no completed sessions yet)'}`);
  lines.push(
    `  next-agent accuracy:   ${pct(model.nextAgentAccuracy)}   output-bound coverage: ${pct(model.outputBoundCoverage)}`,
  );
  lines.push('  top transitions:');
  const transitions = model.states
    .flatMap((s) =>
      s.next.map((t) => ({
        from: s.key,
        to: t.role === END_ROLE ? '(end)' : t.role,
        p: t.probability,
        visits: s.visits,
      })),
    )
    .sort((a, b) => b.visits * b.p - a.visits * a.p)
    .slice(0, topTransitions);
  for (const t of transitions)
    lines.push(`    ${t.from.padEnd(22)} -> ${t.to.padEnd(16)} ${t.p.toFixed(2)}  (${t.visits} visits)`);
  lines.push(
    '  agents:          samples   out p50   out p90   out p99     bound  next-acc  coverage  tool p50',
  );
  for (const a of model.agents) {
    lines.push(
      `    ${a.agent.padEnd(14)} ${String(a.samples).padStart(8)} ${String(a.outputP50).padStart(9)} ${String(a.outputP90).padStart(9)} ${String(a.outputP99).padStart(9)} ${String(a.outputBound).padStart(9)} ${pct(a.nextAgentAccuracy).padStart(9)} ${pct(a.outputBoundCoverage).padStart(9)} ${`${(a.toolTimeP50Ms / 1000).toFixed(1)}s`.padStart(9)}`,
    );
  }
  return lines.join('\n');
}

/** The JSON shape of GET /v1/models. */
export function modelJson(model: WorkflowModel, aliases: Aliases = {}): Record<string, unknown> {
  return {
    workflow: model.workflow,
    identity_source: identitySource(model.workflow, aliases),
    version: model.version,
    mode: model.mode,
    regex: model.regex,
    structure: model.structure,
    sessions: model.sessions,
    next_agent_accuracy: model.nextAgentAccuracy,
    output_bound_coverage: model.outputBoundCoverage,
    agents: Object.fromEntries(
      model.agents.map((a) => [
        a.agent,
        {
          samples: a.samples,
          output_tokens: { p50: a.outputP50, p90: a.outputP90, p99: a.outputP99, bound: a.outputBound },
          next_agent_accuracy: a.nextAgentAccuracy,
          output_bound_coverage: a.outputBoundCoverage,
          prompt_tokens_mean: a.promptTokensMean,
          prompt_growth_mean: a.promptGrowthMean,
          tool_time_ms: { p50: a.toolTimeP50Ms, p90: a.toolTimeP90Ms },
        },
      ]),
    ),
    transitions: Object.fromEntries(
      model.states.map((s) => [s.key, Object.fromEntries(s.next.map((t) => [t.role, t.probability]))]),
    ),
    built_unix_ms: model.builtUnixMs,
  };
}
