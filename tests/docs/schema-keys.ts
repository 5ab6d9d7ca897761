// Every configuration key the schema accepts, found by walking the zod schema itself, with
// its default as the docs show it. New keys appear here without any change to this file.
import type { z } from 'zod';

export interface ConfigKey {
  /** `ext_proc.max_body_bytes`, `pools[].endpoints[].address`, `autoscaler.pools.<pool>.min_replicas`. */
  readonly path: string;
  /** The default as written in docs/configuration.md: `value`, required or unset. */
  readonly defaultText: string;
}

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly in?: z.ZodType;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The schema under optional/default/… wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

export function renderDefault(schema: z.ZodType): string {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success) return 'required';
  if (parsed.data === undefined) return 'unset';
  const v = parsed.data;
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

/** `pools` -> `<pool>`: the placeholder for a record's keys. */
function placeholder(parentKey: string): string {
  return `<${parentKey.replace(/s$/, '')}>`;
}

export function configKeys(schema: z.ZodType, path = ''): ConfigKey[] {
  const inner = unwrap(schema);
  const d = def(inner);
  const last = path.split('.').at(-1) ?? '';
  if (d.type === 'object' && d.shape) {
    return Object.entries(d.shape).flatMap(([key, child]) =>
      configKeys(child, path ? `${path}.${key}` : key),
    );
  }
  if (d.type === 'array' && d.element && def(unwrap(d.element)).type === 'object') {
    return configKeys(d.element, `${path}[]`);
  }
  if (d.type === 'record' && d.valueType && def(unwrap(d.valueType)).type === 'object') {
    return configKeys(d.valueType, `${path}.${placeholder(last)}`);
  }
  return [{ path, defaultText: renderDefault(schema) }];
}
