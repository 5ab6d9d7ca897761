import { readFileSync } from 'node:fs';

export interface JsonLines<T> {
  readonly items: T[];
  /** Lines that failed `parse`, with their 1-based numbers; they are skipped, never silently. */
  readonly errors: Array<{ readonly line: number; readonly message: string }>;
}

/** Reads a JSONL file, parsing each non-blank line with `parse` (which may throw). */
export function readJsonLines<T>(path: string, parse: (line: string) => T): JsonLines<T> {
  const items: T[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      try {
        items.push(parse(text));
      } catch (err) {
        errors.push({ line: i + 1, message: (err as Error).message });
      }
    });
  return { items, errors };
}
