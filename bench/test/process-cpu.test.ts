import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuTicksOfStat, processCpuMs } from '../src/ext-proc-hot-path/process-cpu.js';

test('cpuTicksOfStat adds utime and stime, whatever the command name holds', () => {
  const tail = 'S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 7 8 20 0 11 0 99 1000 10';
  assert.equal(cpuTicksOfStat(`42 (node) ${tail}`), 1290);
  assert.equal(cpuTicksOfStat(`42 (a (b) c) ${tail}`), 1290);
});

test('processCpuMs reads this process where /proc exists, null for no process', () => {
  assert.equal(processCpuMs(undefined), null);
  const own = processCpuMs(process.pid);
  if (own !== null) assert.ok(own >= 0);
});
