// Zod issues as configuration problems with key paths. Pure (load.ts reads files), so the
// scheduling registry can report its plugins' parameter problems the same way.
import type { z } from 'zod';
import type { ConfigProblem } from '../../../core/src/errors.js';

/** Renders a zod issue path as `a.b[2].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** `base` and a path relative to it (`[2].c` or `c`) as one key path. */
export function joinPath(base: string, relative: string): string {
  if (!relative) return base;
  if (!base || relative.startsWith('[')) return `${base}${relative}`;
  return `${base}.${relative}`;
}

export function zodProblems(error: z.ZodError): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      }
    } else if (issue.code === 'invalid_key') {
      // A bad map key (a profile name): the key's own rule says more than "Invalid key".
      problems.push({ path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}
