// The admin endpoint's address, shared by the YAML and nginx spellings.

/**
 * `9000` (loopback: the API can change upstreams, so it is never exposed by accident),
 * `127.0.0.1:9000`, `[::1]:9000`, or `*:9000` / `0.0.0.0:9000` to listen everywhere. Port 0
 * asks the system for one. Null when the text is none of these.
 */
export function parseAdminListen(text: string): { host: string; port: number } | null {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):)?(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2] ?? "127.0.0.1";
  return { host: host === "*" ? "0.0.0.0" : host, port };
}
