// A plugin type as the registry knows it: its kind, the parameters it takes (validated by
// its own schema, none by default), what it needs from the router, and a factory. The
// factory runs once per profile that uses it, so a plugin with state (round robin) gets
// one instance per profile; stateless ones share a single instance.
import { z } from 'zod';
import type { Filter, Picker, PluginNeeds, Scorer } from './types.js';

interface PluginBase<P> {
  /** Its name in the config (`type: queue-scorer`), also its name in decision traces. */
  readonly type: string;
  /** Validates the config's `parameters` and fills in defaults; absent: it takes none. */
  readonly parameters?: z.ZodType<P>;
  readonly needs?: PluginNeeds;
}

type NoParameters = Record<string, never>;

export interface FilterPlugin<P = NoParameters> extends PluginBase<P> {
  readonly kind: 'filter';
  create(parameters: P): Filter;
}

export interface ScorerPlugin<P = NoParameters> extends PluginBase<P> {
  readonly kind: 'scorer';
  create(parameters: P): Scorer;
}

export interface PickerPlugin<P = NoParameters> extends PluginBase<P> {
  readonly kind: 'picker';
  create(parameters: P): Picker;
}

export type PluginDefinition<P = NoParameters> = FilterPlugin<P> | ScorerPlugin<P> | PickerPlugin<P>;

/** The schema a plugin's `parameters` must pass (an empty object when it takes none). */
export function parameterSchema<P>(plugin: PluginBase<P>): z.ZodType<P | NoParameters> {
  return plugin.parameters ?? z.strictObject({});
}

/** A filter without parameters or state. */
export function simpleFilter(type: string, filter: Filter['filter']): FilterPlugin {
  const instance: Filter = { name: type, filter };
  return { type, kind: 'filter', create: () => instance };
}

/** A scorer without parameters or state. */
export function simpleScorer(type: string, score: Scorer['score'], needs: PluginNeeds = {}): ScorerPlugin {
  const instance: Scorer = { name: type, score };
  return { type, kind: 'scorer', needs, create: () => instance };
}

/** A picker without parameters or state. */
export function simplePicker(type: string, pick: Picker['pick']): PickerPlugin {
  const instance: Picker = { name: type, pick };
  return { type, kind: 'picker', create: () => instance };
}
