import { isIP } from 'node:net';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` or `[v6]:port`; returns null when malformed. Port 0 (any free port) only for listeners. */
export function parseHostPort(text: string, allowPortZero = false): HostPort | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const port = Number(match[2]);
  if (port > 65535 || (port === 0 && !allowPortZero)) return null;
  const rawHost = match[1] ?? '';
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { host, port };
}

/** True for `ip:port` with a literal IPv4 or bracketed IPv6 address (what ORIGINAL_DST accepts). */
export function isIpPort(text: string): boolean {
  const hp = parseHostPort(text);
  if (!hp) return false;
  const family = isIP(hp.host);
  return family === 4 || (family === 6 && text.startsWith('['));
}
