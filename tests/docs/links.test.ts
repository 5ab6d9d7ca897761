// Relative links in the README and docs/ lead somewhere: the file exists and, with an
// anchor, the target page has that heading.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter((p) =>
  p.endsWith('.md'),
);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const text = readFileSync(join(root, page), 'utf8');
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

test('relative links in README.md and docs/ resolve, anchors included', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#');
      const path = file ? join(dirname(page), file) : page;
      if (!existsSync(join(root, path))) broken.push(`${page}: ${target}`);
      else if (anchor && path.endsWith('.md') && !anchors(path).has(anchor))
        broken.push(`${page}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(pages.length >= 8, `checked ${pages.length} pages`);
});

test('the README stays short enough to read in five minutes', () => {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const lines = text.split('\n').length;
  const words = text.split(/\s+/).filter(Boolean).length;
  assert.ok(lines <= 150, `${lines} lines`);
  assert.ok(words <= 1300, `${words} words`);
});
