// Addresses as nginx writes them: host:port, [v6]:port, and listen's bare port or *:port.

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port` or `[v6]:port`; null when it is not one (so the caller can word the error). */
export function parseHostPort(text: string): HostPort | null {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** listen's forms: `8000`, `*:8000`, `127.0.0.1:8000`, `[::1]:8000`. host null = every address. */
export function parseListen(text: string): { host: string | null; port: number } | null {
  if (/^\d{1,5}$/.test(text)) {
    const port = Number(text);
    return port >= 1 && port <= 65535 ? { host: null, port } : null;
  }
  const hp = parseHostPort(text);
  if (!hp) return null;
  return { host: hp.host === "*" ? null : hp.host, port: hp.port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
