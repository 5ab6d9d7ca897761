// The learned model of one workflow type: a probabilistic automaton over stage roles with
// run-length-counted states (so bounded loops such as `engineer{3,6}` are learned exactly,
// not as a geometric guess), per-role fan-out widths, per-agent length and timing
// statistics, the readable bounded regex, and its shadow/proactive mode. Plain data: it is
// what the profiler publishes and what every ext-proc replica loads.

export type WorkflowMode = 'shadow' | 'proactive';

export const START_STATE = '^';
export const END_ROLE = '$';
/** Runs longer than this share one state (keeps the automaton finite). */
export const MAX_COUNTED_REPEAT = 32;

export interface Transition {
  /** Next stage's role, or END_ROLE. */
  readonly role: string;
  readonly probability: number;
}

export interface AutomatonState {
  /** `^` or `role#k`: the k-th consecutive stage of that role. */
  readonly key: string;
  readonly visits: number;
  readonly next: readonly Transition[];
  /** Expected stages still to come after this one (critical-path length). */
  readonly expectedRemainingStages: number;
  /** Expected requests still to come (stages times their widths). */
  readonly expectedRemainingRequests: number;
}

export interface RoleWidth {
  readonly role: string;
  readonly meanWidth: number;
  readonly minWidth: number;
  readonly maxWidth: number;
}

export interface AgentStats {
  readonly agent: string;
  readonly samples: number;
  readonly outputP50: number;
  readonly outputP90: number;
  readonly outputP99: number;
  /** The prediction: output tokens at the configured quantile (p99 by default). */
  readonly outputBound: number;
  readonly promptTokensMean: number;
  /** Mean prompt tokens not served from the prefix cache (what prefill really costs). */
  readonly uncachedPromptTokensMean: number;
  /** Median request duration, start to last token, under the load it met. */
  readonly durationP50Ms: number;
  /** Mean growth of this agent's prompt between its consecutive calls in a session. */
  readonly promptGrowthMean: number;
  /** Time from this agent's stage ending to the session's next request (tool time). */
  readonly toolTimeP50Ms: number;
  readonly toolTimeP90Ms: number;
  /** Live top-1 accuracy of predicting the stage that follows this agent's stage. */
  readonly nextAgentAccuracy: number;
  /** Live share of this agent's outputs within the predicted bound. */
  readonly outputBoundCoverage: number;
}

export interface RegexPart {
  readonly role: string;
  /** Parallel width range of the role's stages (1,1 when sequential). */
  readonly width: readonly [number, number];
  /** Consecutive repetitions of the stage (a loop when above 1). */
  readonly repeat: readonly [number, number];
}

export interface WorkflowModel {
  readonly workflow: string;
  /** Increases with every rebuild published. */
  readonly version: number;
  readonly mode: WorkflowMode;
  readonly regex: string;
  /** One alternative per common session shape, most frequent first. */
  readonly structure: ReadonlyArray<readonly RegexPart[]>;
  readonly sessions: number;
  readonly nextAgentAccuracy: number;
  readonly outputBoundCoverage: number;
  readonly states: readonly AutomatonState[];
  readonly roles: readonly RoleWidth[];
  readonly agents: readonly AgentStats[];
  readonly builtUnixMs: number;
}

export function stateKey(role: string, repeat: number): string {
  return `${role}#${Math.min(repeat, MAX_COUNTED_REPEAT)}`;
}

/** The automaton state after a sequence of stage roles, or null when the model never saw it. */
export function stateAfter(roles: readonly string[]): { key: string; role: string; repeat: number } {
  let role = '';
  let repeat = 0;
  for (const r of roles) {
    repeat = r === role ? repeat + 1 : 1;
    role = r;
  }
  return roles.length === 0
    ? { key: START_STATE, role: '', repeat: 0 }
    : { key: stateKey(role, repeat), role, repeat };
}
