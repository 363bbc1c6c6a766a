// Which server setups Bun's native handshake takes, in its own terms: exactly the options
// node:tls is given for a handshake (tls/server.ts serverSocketOptions) that it knows, so an
// option added there later goes to node:tls until this file learns it (never run weaker).
import type tls from "node:tls";

/** What the native handshake takes of serverSocketOptions(); anything else goes to node:tls. */
const NATIVE_KEYS = new Set(["isServer", "secureContext", "requestCert", "rejectUnauthorized", "ALPNProtocols"]);

/** The native handshake's options for a setup, or null when it cannot take them all. */
export function nativeServerOptions(o: tls.TLSSocketOptions): Record<string, unknown> | null {
  if (o.isServer !== true || Object.keys(o).some((k) => !NATIVE_KEYS.has(k))) return null;
  const native = (o.secureContext as { context?: unknown } | undefined)?.context;
  if (native === undefined) return null;
  const alpn = o.ALPNProtocols;
  if (alpn !== undefined && !(Array.isArray(alpn) && alpn.every((p) => typeof p === "string"))) return null;
  return {
    secureContext: native,
    requestCert: o.requestCert === true,
    rejectUnauthorized: o.rejectUnauthorized === true,
    ...(alpn !== undefined && { ALPNProtocols: alpnWire(alpn as string[]) }),
  };
}

/** ALPN's wire form: each name after its length byte (what node:tls makes of a list). */
export function alpnWire(names: readonly string[]): Uint8Array {
  const parts = names.map((n) => new TextEncoder().encode(n));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out[at++] = p.byteLength;
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
