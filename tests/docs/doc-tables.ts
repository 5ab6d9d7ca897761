// Reads the reference tables of a docs page: rows whose first cell is a code span.
import { readFileSync } from 'node:fs';

export interface DocRow {
  /** The first cell's code span: the key or metric name. */
  readonly key: string;
  /** The other cells, trimmed. */
  readonly cells: readonly string[];
}

export function docRows(relativePath: string): DocRow[] {
  const text = readFileSync(new URL(`../../${relativePath}`, import.meta.url), 'utf8');
  const rows: DocRow[] = [];
  for (const line of text.split('\n')) {
    const match = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (!match) continue;
    rows.push({ key: match[1] ?? '', cells: (match[2] ?? '').split('|').map((c) => c.trim()) });
  }
  return rows;
}
