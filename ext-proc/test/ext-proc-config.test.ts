// The ext-proc process validates its scheduling profiles against the plugin registry in the
// same pass as the rest of the file: one report with every problem, exit code 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('a profile with an unknown plugin type and a bad weight stops ext-proc with both key paths', async () => {
  const configPath = join(mkdtempSync(join(tmpdir(), 'pythia-ext-proc-config-')), 'config.yaml');
  writeFileSync(
    configPath,
    [
      'pools: [{ name: p, models: [m] }]',
      'scheduler:',
      '  profile: mine',
      '  profiles:',
      '    mine:',
      '      scorers: [{ type: quue-scorer, weight: 1 }, { type: queue-scorer, weight: -2 }]',
      '      picker: { type: max-score-picker }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'ext-proc/src/main.ts', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /scheduler\.profiles\.mine\.scorers\[0\]\.type: unknown plugin type/);
  assert.match(stderr, /scheduler\.profiles\.mine\.scorers\[1\]\.weight: expected a finite number >= 0/);
});
