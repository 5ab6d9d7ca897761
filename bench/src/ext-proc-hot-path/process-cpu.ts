// CPU time a server process has used (all its threads, GC helpers included), read from
// /proc: the bench divides it by the exchanges served, a per-request cost that, unlike
// latency and throughput, hardly moves when other processes load the machine.
import { readFileSync } from 'node:fs';

/** Linux reports utime and stime in USER_HZ ticks, 100 per second on every mainstream arch. */
const TICKS_PER_SECOND = 100;

/** utime + stime, in ticks, from the text of /proc/<pid>/stat. */
export function cpuTicksOfStat(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** Milliseconds of CPU the process has used, or null where /proc cannot tell. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const ticks = cpuTicksOfStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
