// The demo's ports: the fixed ones of config/demo.yaml and envoy/envoy.yaml (gateway 10000,
// ext_proc 50051, admin 9090-9092, KEDA 50052, model servers 8001-8011), checked before
// anything starts. When one is taken (a second `npm start`, say) the demo says which and,
// unless Envoy's fixed configuration needs them, runs on free ports instead.
import { createServer } from 'node:net';
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { parseHostPort } from '../../../common/src/host-port.js';

export interface PortUse {
  readonly what: string;
  readonly host: string;
  readonly port: number;
}

function use(what: string, address: string): PortUse[] {
  const hp = parseHostPort(address, true);
  return hp && hp.port !== 0 ? [{ what, host: hp.host, port: hp.port }] : [];
}

/** Every fixed port the demo would listen on with this configuration. */
export function demoPorts(
  config: PythiaConfig,
  gatewayPort: number,
  envoyAdminPort: number | null,
): PortUse[] {
  return [
    { what: 'gateway', host: '127.0.0.1', port: gatewayPort },
    ...(envoyAdminPort === null ? [] : [{ what: 'Envoy admin', host: '127.0.0.1', port: envoyAdminPort }]),
    ...use('ext-proc gRPC', config.listen),
    ...use('ext-proc admin', config.admin),
    ...use('profiler admin', config.profiler.admin),
    ...use('autoscaler admin', config.autoscaler.admin),
    ...use('autoscaler KEDA gRPC', config.autoscaler.keda_listen),
    ...config.pools.flatMap((p) =>
      p.endpoints.flatMap((e) => use(`simulated replica of ${p.name}`, e.address)),
    ),
  ];
}

function canListen(u: PortUse): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(u.port, u.host, () => server.close(() => resolve(true)));
  });
}

/** The uses whose port something else holds now. */
export async function takenPorts(uses: readonly PortUse[]): Promise<PortUse[]> {
  const free = await Promise.all(uses.map(canListen));
  return uses.filter((_, i) => !free[i]);
}

/** "port 8001 (…) is in use" or "ports 8001 (…), 8002 (…) are in use". */
export function describeTaken(taken: readonly PortUse[]): string {
  const list = taken.map((u) => `${u.port} (${u.what})`).join(', ');
  return taken.length === 1 ? `port ${list} is in use` : `ports ${list} are in use`;
}

/** The services on free ports (port 0) instead of the configured ones. */
export function onFreePorts(config: PythiaConfig): PythiaConfig {
  const free = (address: string) => `${parseHostPort(address, true)?.host ?? '127.0.0.1'}:0`;
  return {
    ...config,
    listen: free(config.listen),
    admin: free(config.admin),
    profiler: { ...config.profiler, admin: free(config.profiler.admin) },
    autoscaler: {
      ...config.autoscaler,
      admin: free(config.autoscaler.admin),
      keda_listen: free(config.autoscaler.keda_listen),
    },
  };
}

/** The port an EADDRINUSE error names, when it is one. */
export function portInUse(err: unknown): number | null {
  const e = err as { code?: unknown; port?: unknown };
  return e?.code === 'EADDRINUSE' && typeof e.port === 'number' ? e.port : null;
}
