// Small helpers of session.ts: joining kept client bytes, and naming a socket end as nginx does.

/** nginx names a unix socket's end by its path alone (`unix:`, `unix:/path`). */
export function where(address: string, port: number): string {
  if (address.startsWith("unix:")) return address;
  // ngx_sock_ntop: an IPv6 address in brackets before its port.
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
