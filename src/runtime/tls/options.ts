// nginx's TLS settings in node:tls's terms: protocol ranges, option bits and secure contexts.
// Shared by the three runtimes, whose node:tls sits on OpenSSL (Node), BoringSSL (Bun) or
// rustls (Deno).
import { constants } from "node:crypto";
import tls from "node:tls";
import { TlsConfigError, type TlsProtocol } from "../../core/tls.ts";

const ORDER: readonly TlsProtocol[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/** min/max for node:tls, or why the set cannot be said as one (a gap, or nothing it knows). */
export function versionRange(protocols: readonly TlsProtocol[]): { min: tls.SecureVersion; max: tls.SecureVersion } | string {
  // SSLv2 and SSLv3 are gone from every library here; leaving them out only narrows the set.
  const on = ORDER.map((p) => protocols.includes(p));
  const first = on.indexOf(true);
  const last = on.lastIndexOf(true);
  if (first < 0) return `ssl_protocols without TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3`;
  if (on.slice(first, last + 1).includes(false)) return `ssl_protocols with a gap (${protocols.join(" ")})`;
  return { min: ORDER[first] as tls.SecureVersion, max: ORDER[last] as tls.SecureVersion };
}

/** Takes a key, trying each ssl_password_file line on an encrypted one. */
export function contextWithKey(
  base: tls.SecureContextOptions,
  cert: { cert: string; key: string; certPath: string; keyPath: string },
  passwords: readonly string[],
): tls.SecureContext {
  // The certificate alone first, so a bad one is named as nginx names it.
  try {
    tls.createSecureContext({ cert: cert.cert });
  } catch (err) {
    throw new TlsConfigError(`cannot load certificate "${cert.certPath}": PEM_read_bio_X509_AUX() failed (SSL: ${reason(err)})`);
  }
  const tries = passwords.length > 0 ? passwords : [undefined];
  let last: unknown = null;
  for (const passphrase of tries) {
    try {
      tls.createSecureContext({ key: cert.key, ...(passphrase !== undefined && { passphrase }) });
    } catch (err) {
      last = err;
      continue;
    }
    try {
      return tls.createSecureContext({ ...base, cert: cert.cert, key: cert.key, ...(passphrase !== undefined && { passphrase }) });
    } catch (err) {
      throw new TlsConfigError(`SSL_CTX_use_PrivateKey("${cert.keyPath}") failed (SSL: ${reason(err)})`);
    }
  }
  throw new TlsConfigError(`cannot load certificate key "${cert.keyPath}": PEM_read_bio_PrivateKey() failed (SSL: ${reason(last)})`);
}

/** secureOptions for ssl_session_tickets off. */
export function ticketOptions(tickets: boolean): number {
  return tickets ? 0 : constants.SSL_OP_NO_TICKET;
}

/** The library's words for a failure (OpenSSL's `error:…:reason`), never the key's bytes. */
export function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { reason?: string; code?: string };
  // OpenSSL 3 prints no function name (`error:0A00009C:SSL routines::http request`), as nginx shows.
  const m = /error:([0-9A-F]+):([^:]*):[^:]*:([^:\n]*)/.exec(e.message);
  if (m) return `error:${m[1]}:${m[2]}::${m[3]}`;
  return e.reason ?? e.message;
}
