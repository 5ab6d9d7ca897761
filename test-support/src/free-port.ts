// A port the OS just reported free on loopback, for listeners whose address must be known
// before they start (a config file for a child process, a peer's address in a manifest).
// Listeners the test starts itself bind port 0 instead.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
