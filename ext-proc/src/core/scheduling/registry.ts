// The plugin registry: plugin type -> definition (kind, parameters, needs, factory), in the
// spirit of the llm-d router's plugin registry. It checks the config's profiles (the
// catalogue the config validation asks) and builds them. Adding a plugin is its file and a
// line in BUILT_IN_PLUGINS; an extension (or a test) adds its own with `with`.
import {
  type PluginCatalogue,
  type PluginKind,
  type PluginRef,
  pluginProblems,
  type ProfileConfig,
} from '../../../../common/src/config/profiles.js';
import { joinPath, zodProblems } from '../../../../common/src/config/problems.js';
import { ConfigError, type ConfigProblem } from '../../../../core/src/errors.js';
import { parameterSchema, type PluginDefinition } from './plugin.js';
import { costModelScorer } from './plugins/cost-model-scorer.js';
import { decodeLoadScorer } from './plugins/decode-load-scorer.js';
import { headroomScorer } from './plugins/headroom-scorer.js';
import { healthyFilter } from './plugins/healthy-filter.js';
import { historyAffinityScorer } from './plugins/history-affinity-scorer.js';
import { kvFeasibilityFilter } from './plugins/kv-feasibility-filter.js';
import { kvCostScorer } from './plugins/kv-cost-scorer.js';
import { kvUsageScorer } from './plugins/kv-usage-scorer.js';
import { leastRequestScorer } from './plugins/least-request-scorer.js';
import { maxScorePicker } from './plugins/max-score-picker.js';
import { prefixAffinityGateFilter } from './plugins/prefix-affinity-gate-filter.js';
import { prefixAffinityScorer } from './plugins/prefix-affinity-scorer.js';
import { queueScorer } from './plugins/queue-scorer.js';
import { roundRobinPicker } from './plugins/round-robin-picker.js';
import { sessionAffinityScorer } from './plugins/session-affinity-scorer.js';
import { tokenLoadScorer } from './plugins/token-load-scorer.js';
import type { Filter, Picker, Profile, Scorer } from './types.js';

type Definition = PluginDefinition<unknown>;
type Instance<K extends PluginKind> = { filter: Filter; scorer: Scorer; picker: Picker }[K];

export class PluginRegistry implements PluginCatalogue {
  private readonly byType = new Map<string, Definition>();

  constructor(definitions: readonly Definition[]) {
    for (const d of definitions) {
      if (this.byType.has(d.type)) throw new Error(`plugin type '${d.type}' registered twice`);
      this.byType.set(d.type, d);
    }
  }

  /** This registry and more plugins. */
  with(...definitions: readonly Definition[]): PluginRegistry {
    return new PluginRegistry([...this.byType.values(), ...definitions]);
  }

  types(kind: PluginKind): string[] {
    return [...this.byType.values()].filter((d) => d.kind === kind).map((d) => d.type);
  }

  problems(kind: PluginKind, type: string, parameters: unknown): ConfigProblem[] {
    const definition = this.byType.get(type);
    if (!definition)
      return [{ path: 'type', message: `unknown plugin type (${kind}s: ${this.types(kind).join(', ')})` }];
    if (definition.kind !== kind)
      return [{ path: 'type', message: `'${type}' is a ${definition.kind}, not a ${kind}` }];
    const result = parameterSchema(definition).safeParse(parameters ?? {});
    if (result.success) return [];
    return zodProblems(result.error).map((p) => ({
      path: joinPath('parameters', p.path),
      message: p.message,
    }));
  }

  /**
   * A new instance of the named profile (pickers may keep state: one instance per use).
   * Throws ConfigError listing every problem when the config was parsed without this
   * registry and names plugins it lacks.
   */
  build(name: string, profiles: Readonly<Record<string, ProfileConfig>>): Profile {
    const spec = profiles[name];
    if (!spec)
      throw new ConfigError('config', [{ path: 'scheduler.profiles', message: `no profile '${name}'` }]);
    const problems = pluginProblems({ [name]: spec }, this);
    if (problems.length > 0) throw new ConfigError('config', problems);
    let prefixHashes = false;
    const create = <K extends PluginKind>(kind: K, ref: PluginRef): Instance<K> => {
      const definition = this.byType.get(ref.type);
      // Checked just above; kept so that the cast below can never hide a wrong kind.
      if (definition?.kind !== kind) throw new Error(`'${ref.type}' is not a ${kind}`);
      prefixHashes ||= definition.needs?.prefixHashes === true;
      return definition.create(parameterSchema(definition).parse(ref.parameters ?? {})) as Instance<K>;
    };
    return {
      name,
      filters: spec.filters.map((ref) => create('filter', ref)),
      scorers: spec.scorers.map((ref) => ({ scorer: create('scorer', ref), weight: ref.weight })),
      picker: create('picker', spec.picker),
      needs: { prefixHashes },
    };
  }
}

export const BUILT_IN_PLUGINS = new PluginRegistry([
  healthyFilter,
  kvFeasibilityFilter,
  prefixAffinityGateFilter,
  headroomScorer,
  prefixAffinityScorer,
  historyAffinityScorer,
  sessionAffinityScorer,
  queueScorer,
  decodeLoadScorer,
  kvUsageScorer,
  leastRequestScorer,
  costModelScorer,
  tokenLoadScorer,
  kvCostScorer,
  maxScorePicker,
  roundRobinPicker,
]);
