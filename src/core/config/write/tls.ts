// A server's TLS settings written back in each spelling (what read-nginx/ssl.ts and
// read-yaml/tls.ts read): each server writes its merged settings, only where they differ from
// nginx's defaults, the same as nginx's inheritance read back.
import type { ServerConfig, ServerTlsConfig } from "../model.ts";
import { DEFAULT_TLS } from "../tls-config.ts";
import { formatTime } from "../values/units.ts";

type Kind = "text" | "flag" | "time" | "int" | "words";
type Value = string | boolean | number | readonly string[] | null;

/** Directive (= YAML key), model field, and how its value is spelled; in nginx's order. */
const FIELDS: ReadonlyArray<readonly [string, keyof ServerTlsConfig, Kind]> = [
  ["ssl_password_file", "passwordFile", "text"],
  ["ssl_protocols", "protocols", "words"],
  ["ssl_ciphers", "ciphers", "text"],
  ["ssl_prefer_server_ciphers", "preferServerCiphers", "flag"],
  ["ssl_ecdh_curve", "ecdhCurve", "text"],
  ["ssl_session_cache", "sessionCache", "text"],
  ["ssl_session_timeout", "sessionTimeoutMs", "time"],
  ["ssl_session_tickets", "sessionTickets", "flag"],
  ["ssl_handshake_timeout", "handshakeTimeoutMs", "time"],
  ["ssl_verify_client", "verifyClient", "text"],
  ["ssl_verify_depth", "verifyDepth", "int"],
  ["ssl_client_certificate", "clientCertificate", "text"],
  ["ssl_trusted_certificate", "trustedCertificate", "text"],
  ["ssl_crl", "crl", "text"],
  ["ssl_alpn", "alpn", "words"],
  ["ssl_reject_handshake", "rejectHandshake", "flag"],
  ["proxy_ssl", "proxySsl", "flag"],
  ["proxy_ssl_server_name", "proxySslServerName", "flag"],
  ["proxy_ssl_name", "proxySslName", "text"],
  ["proxy_ssl_verify", "proxySslVerify", "flag"],
  ["proxy_ssl_verify_depth", "proxySslVerifyDepth", "int"],
  ["proxy_ssl_trusted_certificate", "proxySslTrustedCertificate", "text"],
  ["proxy_ssl_crl", "proxySslCrl", "text"],
  ["proxy_ssl_certificate", "proxySslCertificate", "text"],
  ["proxy_ssl_certificate_key", "proxySslCertificateKey", "text"],
  ["proxy_ssl_password_file", "proxySslPasswordFile", "text"],
  ["proxy_ssl_protocols", "proxySslProtocols", "words"],
  ["proxy_ssl_ciphers", "proxySslCiphers", "text"],
  ["proxy_ssl_session_reuse", "proxySslSessionReuse", "flag"],
  ["proxy_ssl_alpn", "proxySslAlpn", "words"],
];

const same = (a: Value, b: Value) => (Array.isArray(a) && Array.isArray(b) ? a.join(" ") === b.join(" ") : a === b);

/** [name, value, kind] of each setting to write; empty for a server without TLS. */
function changed(s: ServerConfig): Array<[string, Value, Kind]> {
  const t = s.tls;
  if (!t) return [];
  const out: Array<[string, Value, Kind]> = [];
  for (const c of t.certificates) out.push(["ssl_certificate", c.cert, "text"]);
  // A key is missing only after the last one given (a server that neither listens with ssl
  // nor proxies with it keeps such certificates unchecked).
  for (const c of t.certificates) if (c.key !== "") out.push(["ssl_certificate_key", c.key, "text"]);
  // Repeated, as the pairs: one line a key file.
  for (const k of t.sessionTicketKeys ?? []) out.push(["ssl_session_ticket_key", k, "text"]);
  for (const [name, field, kind] of FIELDS) {
    if (!same(t[field] as Value, DEFAULT_TLS[field] as Value)) out.push([name, t[field] as Value, kind]);
  }
  // TLS settings all at their defaults still make a server one with TLS settings.
  if (out.length === 0) out.push(["proxy_ssl", false, "flag"]);
  return out;
}

export function nginxTlsLines(s: ServerConfig, word: (w: string) => string): string[] {
  return changed(s).map(([name, v, kind]) => {
    const text = kind === "flag"
      ? (v ? "on" : "off")
      : kind === "time"
      ? formatTime(v as number)
      : kind === "int"
      ? String(v)
      : kind === "words"
      ? (v as string[]).map(word).join(" ")
      // ssl_session_cache has several words; the other texts are one.
      : name === "ssl_session_cache"
      ? (v as string).split(" ").map(word).join(" ")
      : word(v as string);
    return `${name} ${text};`;
  });
}

/** Directives a server may repeat, written in YAML as one list each. */
const LISTS = ["ssl_certificate", "ssl_certificate_key", "ssl_session_ticket_key"];

export function yamlTlsLines(s: ServerConfig, indent: string, scalar: (v: string) => string): string[] {
  const rows = changed(s);
  const out: string[] = [];
  // The certificate pairs as two lists, paired in order; the ticket keys as one.
  for (const key of LISTS) {
    const paths = rows.filter(([n]) => n === key).map(([, v]) => scalar(v as string));
    if (paths.length === 1) out.push(`${indent}${key}: ${paths[0]}`);
    else if (paths.length > 1) out.push(`${indent}${key}: [${paths.join(", ")}]`);
  }
  for (const [name, v, kind] of rows) {
    if (LISTS.includes(name)) continue;
    const text = kind === "flag"
      ? String(v)
      : kind === "time"
      ? formatTime(v as number)
      : kind === "int"
      ? String(v)
      : kind === "words"
      ? `[${(v as string[]).map(scalar).join(", ")}]`
      : scalar(v as string);
    out.push(`${indent}${name}: ${text}`);
  }
  return out;
}
