// nginx's TLS settings in node:tls's terms: protocol ranges, option bits and secure contexts.
// Shared by the three runtimes, whose node:tls sits on OpenSSL (Node), BoringSSL (Bun) or
// rustls (Deno).
import { constants, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import tls from "node:tls";
import type { TlsProtocol } from "../../core/config/model.ts";
import { TlsConfigError } from "../../core/runtime-tls.ts";

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

/**
 * A key as the context takes it: decrypted with the first ssl_password_file line that opens
 * it (nginx tries each in turn), so every library gets a plain key whatever it does with
 * passphrases. null when none opens it, with the library's reason.
 */
export function unlockKey(pem: string, passwords: readonly string[]): { key: KeyObject } | { error: unknown } {
  let last: unknown = null;
  for (const p of passwords.length > 0 ? passwords : [undefined]) {
    try {
      return { key: createPrivateKey({ key: pem, ...(p !== undefined && { passphrase: p }) }) };
    } catch (err) {
      last = err;
    }
  }
  return { error: last };
}

export function keyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

/**
 * Checks one certificate pair and returns it as PEM the context takes. The certificate and
 * key are parsed and matched here (node:crypto) first: some libraries take a broken key
 * without a word and fail only at the first handshake.
 */
export function checkedPair(
  pair: { cert: string; key: string; certPath: string; keyPath: string },
  passwords: readonly string[],
): { cert: string; key: string } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (err) {
    throw new TlsConfigError(`cannot load certificate "${pair.certPath}": PEM_read_bio_X509_AUX() failed (SSL: ${reason(err)})`);
  }
  const unlocked = unlockKey(pair.key, passwords);
  if ("error" in unlocked) {
    throw new TlsConfigError(
      `cannot load certificate key "${pair.keyPath}": PEM_read_bio_PrivateKey() failed (SSL: ${reason(unlocked.error)})`,
    );
  }
  if (!x509.checkPrivateKey(unlocked.key)) {
    throw new TlsConfigError(`SSL_CTX_use_PrivateKey("${pair.keyPath}") failed (SSL: key values mismatch)`);
  }
  return { cert: pair.cert, key: keyPem(unlocked.key) };
}

/**
 * secureOptions for ssl_session_tickets off, and never a client's renegotiation (nginx sets
 * SSL_OP_NO_RENEGOTIATION; Node's OpenSSL would otherwise allow three per ten minutes).
 */
export function serverSecureOptions(tickets: boolean): number {
  return (tickets ? 0 : constants.SSL_OP_NO_TICKET) | (constants.SSL_OP_NO_RENEGOTIATION ?? 0);
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
