// Scheduling profiles as configuration, in the spirit of the llm-d router's scheduling
// profiles: a named composition of plugin types (filters in order, weighted scorers, one
// picker). The plugins themselves are ext-proc's registry, which this shared module must not
// import: the config validation is handed it as a PluginCatalogue.
import { z } from 'zod';
import type { ConfigProblem } from '../../../core/src/errors.js';
import { joinPath } from './problems.js';

export type PluginKind = 'filter' | 'scorer' | 'picker';

/** What the config validation asks of the plugin registry. */
export interface PluginCatalogue {
  /**
   * What is wrong with plugin `type` used as a `kind` with these parameters (unknown type,
   * another kind, bad parameters), paths relative to the plugin's entry; empty when it fits.
   */
  problems(kind: PluginKind, type: string, parameters: unknown): ConfigProblem[];
}

const pluginType = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, {
  message: 'expected a plugin type (lower-case letters, digits and "-")',
});
/** Checked against the plugin's own parameter schema by the registry. */
const parameters = z.record(z.string(), z.unknown()).optional();
const pluginRef = z.strictObject({ type: pluginType, parameters });
const finiteWeight = { error: 'expected a finite number >= 0' };

export const profileSchema = z.strictObject({
  filters: z.array(pluginRef).default([]),
  scorers: z
    .array(
      z.strictObject({ type: pluginType, weight: z.number(finiteWeight).min(0, finiteWeight), parameters }),
    )
    .default([]),
  picker: z.strictObject(pluginRef.shape, {
    error: (issue) =>
      issue.input === undefined ? 'a profile needs a picker, e.g. { type: max-score-picker }' : undefined,
  }),
});

export type ProfileConfig = z.output<typeof profileSchema>;
export type PluginRef = ProfileConfig['picker'];

// No dots: a profile name is part of key paths (`scheduler.profiles.<name>.scorers[0]`).
export const profileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, {
  message: 'expected 1-63 characters of letters, digits, "_" or "-"',
});

const healthy = { type: 'healthy-filter' };
const maxScore = { type: 'max-score-picker' };

/**
 * The profiles every configuration has (a user profile of the same name replaces one):
 * `pythia` for proactive workflows, the rest as the reactive default and the bench's
 * baselines. Weights are ours; `prefix-aware` mirrors the Gateway API Inference Extension's
 * default (prefix 3, queue 2, KV 2). Order matters: scores are summed in this order.
 */
export const BUILT_IN_PROFILES: Readonly<Record<string, ProfileConfig>> = {
  pythia: {
    // The KV-feasibility filter changed no decision in the bench: the cost counts the wait for KV.
    filters: [healthy],
    // One cost in milliseconds (this request's completion plus the delay it adds there), in
    // which prefix and session affinity are the prefill they save, under a load bound.
    scorers: [{ type: 'cost-model-scorer', weight: 1 }],
    picker: maxScore,
  },
  'least-request': {
    filters: [healthy],
    scorers: [{ type: 'least-request-scorer', weight: 1 }],
    picker: maxScore,
  },
  'round-robin': { filters: [healthy], scorers: [], picker: { type: 'round-robin-picker' } },
  'prefix-aware': {
    filters: [healthy],
    scorers: [
      { type: 'prefix-affinity-scorer', weight: 3 },
      { type: 'queue-scorer', weight: 2 },
      { type: 'kv-usage-scorer', weight: 2 },
    ],
    picker: maxScore,
  },
  'session-affinity': {
    filters: [healthy],
    scorers: [
      { type: 'session-affinity-scorer', weight: 10 },
      { type: 'least-request-scorer', weight: 1 },
    ],
    picker: maxScore,
  },
  // The peers as they ship in 2026 (docs/bench.md, "Peers"). llm-d router's default: prefix-cache
  // affinity gated by token load ("sticky until saturated"), then least token load. Its
  // flow-control variant (`llm-d-flow`: the same behind a picker queue with a saturation
  // detector, FCFS) is this profile plus ext-proc's flow control (issue 14 item 4), a bench
  // preset over this profile's name.
  'llm-d': {
    filters: [healthy, { type: 'prefix-affinity-gate-filter', parameters: { threshold: 0.8 } }],
    scorers: [{ type: 'token-load-scorer', weight: 1 }],
    picker: maxScore,
  },
  // NVIDIA Dynamo's KV router: uncached prompt blocks x overlap weight (1) + active blocks,
  // temperature 0 (the cheapest). Its router queue (`wspt`) is this profile plus flow control.
  dynamo: {
    filters: [healthy],
    scorers: [{ type: 'kv-cost-scorer', weight: 1, parameters: { overlap_weight: 1 } }],
    picker: maxScore,
  },
};

/** User profiles over the built-in ones. */
export const profilesSchema = z
  .record(profileName, profileSchema)
  .default({})
  .transform((user): Readonly<Record<string, ProfileConfig>> => ({ ...BUILT_IN_PROFILES, ...user }));

const asRecord = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** `scheduler.profile`, `.reactive_profile` and `.shadow_profile` must name a built-in or configured profile. */
export function profileNameProblems(scheduler: unknown): ConfigProblem[] {
  const s = asRecord(scheduler);
  if (!s) return [];
  const names = new Set([...Object.keys(BUILT_IN_PROFILES), ...Object.keys(asRecord(s['profiles']) ?? {})]);
  const problems: ConfigProblem[] = [];
  for (const key of ['profile', 'reactive_profile', 'shadow_profile']) {
    const name = s[key];
    if (typeof name === 'string' && !names.has(name))
      problems.push({
        path: `scheduler.${key}`,
        message: `names no profile (profiles: ${[...names].join(', ')})`,
      });
  }
  return problems;
}

/**
 * Every plugin entry of these profiles checked against the catalogue: known type, of the
 * kind its slot takes, with valid parameters. Reads its input defensively (it runs on raw
 * input beside the schema's own checks).
 */
export function pluginProblems(profiles: unknown, catalogue: PluginCatalogue): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (kind: PluginKind, entry: unknown, path: string) => {
    const ref = asRecord(entry);
    if (typeof ref?.['type'] !== 'string') return;
    for (const p of catalogue.problems(kind, ref['type'], ref['parameters']))
      problems.push({ path: joinPath(path, p.path), message: p.message });
  };
  for (const [name, value] of Object.entries(asRecord(profiles) ?? {})) {
    const profile = asRecord(value);
    if (!profile) continue;
    const at = `scheduler.profiles.${name}`;
    for (const slot of ['filters', 'scorers'] as const) {
      const list = profile[slot];
      if (Array.isArray(list))
        list.forEach((entry, i) =>
          check(slot === 'filters' ? 'filter' : 'scorer', entry, `${at}.${slot}[${i}]`),
        );
    }
    check('picker', profile['picker'], `${at}.picker`);
  }
  return problems;
}
