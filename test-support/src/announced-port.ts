// A child server that binds port 0 and prints `PORT <n>` once it listens: its port.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the port `child` announces on stdout; rejects if it exits first. */
export function announcedPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}
