import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type ConfigProblem } from '../../../core/src/errors.js';
import { type PluginCatalogue, pluginProblems, profileNameProblems } from './profiles.js';
import { zodProblems } from './problems.js';
import { configSchema, type PythiaConfig } from './schema.js';

// Checks that relate keys to each other. They read the raw input defensively so they
// can run even when the schema found other problems: the user sees everything at once.
// Plugin types are checked when the catalogue (ext-proc's plugin registry) is given.
function crossReferenceProblems(raw: unknown, plugins: PluginCatalogue | null): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (typeof raw !== 'object' || raw === null) return problems;
  const root = raw as Record<string, unknown>;
  const pools = Array.isArray(root['pools']) ? (root['pools'] as unknown[]) : [];
  const names = new Map<string, number>();
  const addresses = new Map<string, string>();
  pools.forEach((pool, i) => {
    if (typeof pool !== 'object' || pool === null) return;
    const p = pool as Record<string, unknown>;
    const name = p['name'];
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined)
        problems.push({ path: `pools[${i}].name`, message: `duplicate of pools[${first}]` });
      else names.set(name, i);
    }
    const endpoints = Array.isArray(p['endpoints']) ? (p['endpoints'] as unknown[]) : [];
    endpoints.forEach((ep, j) => {
      const address =
        typeof ep === 'object' && ep !== null ? (ep as Record<string, unknown>)['address'] : undefined;
      if (typeof address !== 'string') return;
      const here = `pools[${i}].endpoints[${j}]`;
      const first = addresses.get(address);
      if (first !== undefined)
        problems.push({ path: `${here}.address`, message: `${address} already listed at ${first}` });
      else addresses.set(address, here);
    });
  });
  const nats = root['nats'];
  if (typeof nats === 'object' && nats !== null) {
    const n = nats as Record<string, unknown>;
    const kinds = [
      n['user'] !== undefined || n['password'] !== undefined,
      n['token'],
      n['creds_file'],
      n['nkey_seed_file'],
    ].filter(Boolean);
    if (kinds.length > 1)
      problems.push({
        path: 'nats',
        message: 'set one credential kind: user/password, token, creds_file or nkey_seed_file',
      });
    if ((n['user'] === undefined) !== (n['password'] === undefined)) {
      problems.push({
        path: n['user'] === undefined ? 'nats.user' : 'nats.password',
        message: 'user and password go together',
      });
    }
  }
  const extProc = root['ext_proc'];
  if (typeof extProc === 'object' && extProc !== null) {
    const def = (extProc as Record<string, unknown>)['default_pool'];
    if (typeof def === 'string' && !names.has(def)) {
      problems.push({
        path: 'ext_proc.default_pool',
        message: `names no pool (pools: ${[...names.keys()].join(', ')})`,
      });
    }
  }
  const scheduler = root['scheduler'];
  problems.push(...profileNameProblems(scheduler));
  if (plugins && typeof scheduler === 'object' && scheduler !== null)
    problems.push(...pluginProblems((scheduler as Record<string, unknown>)['profiles'], plugins));
  return problems;
}

/** Problems between settings, read with their defaults applied. */
function settingProblems(config: PythiaConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const flow = config.scheduler.flow_control;
  // A held request's stream gets no message while it waits: the idle reaper must not end it first.
  if (flow.enabled && flow.queue_ttl_s + 1 > config.ext_proc.stream_idle_timeout_s)
    problems.push({
      path: 'scheduler.flow_control.queue_ttl_s',
      message: `a held request would be reaped as idle first: keep it below ext_proc.stream_idle_timeout_s (${config.ext_proc.stream_idle_timeout_s}) - 1`,
    });
  return problems;
}

/**
 * Applies defaults and validates; throws ConfigError listing every problem. With `plugins`
 * (ext-proc's registry) the scheduling profiles' plugin types and parameters are checked too.
 */
export function parseConfig(raw: unknown, source = 'config', plugins?: PluginCatalogue): PythiaConfig {
  const result = configSchema.safeParse(raw ?? {});
  const problems = [
    ...(result.success ? [] : zodProblems(result.error)),
    ...crossReferenceProblems(raw, plugins ?? null),
    ...(result.success ? settingProblems(result.data) : []),
  ];
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

export function parseConfigText(text: string, source = 'config', plugins?: PluginCatalogue): PythiaConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(source, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  return parseConfig(raw, source, plugins);
}

export function loadConfigFile(path: string, plugins?: PluginCatalogue): PythiaConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parseConfigText(text, path, plugins);
}

/** The config path from `--config FILE` or `--config=FILE`, else PYTHIA_CONFIG. */
export function configPathFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') return argv[i + 1];
    if (arg?.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return env['PYTHIA_CONFIG'];
}
