// The ssl_* and proxy_ssl_* directives streamlb runs, each with the model field it sets and
// the kind of value it takes. Both readers (read-nginx/ssl.ts, read-yaml/tls.ts) walk this one
// list, each parsing a kind in its own syntax; the directives whose values need more than a kind
// (certificate pairs, the session cache, verify_client, ALPN) are named in `special`.
import type { ServerTlsConfig } from "../model.ts";

export type TlsValueKind = "text" | "flag" | "path" | "depth" | "protocols" | "seconds" | "milliseconds";

export type TlsSpecial =
  | "certificate"
  | "certificate_key"
  | "session_cache"
  | "verify_client"
  | "alpn"
  | "proxy_alpn"
  | "session_ticket_key";

export type TlsField =
  | { readonly kind: TlsValueKind; readonly field: keyof ServerTlsConfig }
  | { readonly kind: "special"; readonly special: TlsSpecial };

const f = (kind: TlsValueKind, field: keyof ServerTlsConfig): TlsField => ({ kind, field });
const special = (s: TlsSpecial): TlsField => ({ kind: "special", special: s });

export const TLS_FIELDS: ReadonlyMap<string, TlsField> = new Map<string, TlsField>([
  // Several pairs (RSA + ECDSA): the repeated directives are paired in order.
  ["ssl_certificate", special("certificate")],
  ["ssl_certificate_key", special("certificate_key")],
  ["ssl_password_file", f("path", "passwordFile")],
  ["ssl_protocols", f("protocols", "protocols")],
  ["ssl_ciphers", f("text", "ciphers")],
  ["ssl_prefer_server_ciphers", f("flag", "preferServerCiphers")],
  ["ssl_ecdh_curve", f("text", "ecdhCurve")],
  ["ssl_session_cache", special("session_cache")],
  ["ssl_session_timeout", f("seconds", "sessionTimeoutMs")],
  ["ssl_session_tickets", f("flag", "sessionTickets")],
  // Repeatable: each adds a key file to the list.
  ["ssl_session_ticket_key", special("session_ticket_key")],
  ["ssl_handshake_timeout", f("milliseconds", "handshakeTimeoutMs")],
  ["ssl_verify_client", special("verify_client")],
  ["ssl_verify_depth", f("depth", "verifyDepth")],
  ["ssl_client_certificate", f("path", "clientCertificate")],
  ["ssl_trusted_certificate", f("path", "trustedCertificate")],
  ["ssl_crl", f("path", "crl")],
  ["ssl_alpn", special("alpn")],
  ["ssl_reject_handshake", f("flag", "rejectHandshake")],
  ["proxy_ssl", f("flag", "proxySsl")],
  ["proxy_ssl_server_name", f("flag", "proxySslServerName")],
  // With variables, compiled and checked with the others (variables/stream-variables.ts).
  ["proxy_ssl_name", f("text", "proxySslName")],
  ["proxy_ssl_verify", f("flag", "proxySslVerify")],
  ["proxy_ssl_verify_depth", f("depth", "proxySslVerifyDepth")],
  ["proxy_ssl_trusted_certificate", f("path", "proxySslTrustedCertificate")],
  ["proxy_ssl_crl", f("path", "proxySslCrl")],
  ["proxy_ssl_certificate", f("path", "proxySslCertificate")],
  ["proxy_ssl_certificate_key", f("path", "proxySslCertificateKey")],
  ["proxy_ssl_password_file", f("path", "proxySslPasswordFile")],
  ["proxy_ssl_protocols", f("protocols", "proxySslProtocols")],
  ["proxy_ssl_ciphers", f("text", "proxySslCiphers")],
  ["proxy_ssl_session_reuse", f("flag", "proxySslSessionReuse")],
  // Complex values, compiled and checked with the others (variables/stream-variables.ts).
  ["proxy_ssl_alpn", special("proxy_alpn")],
]);

export const VERIFY_CLIENT_VALUES = ["off", "on", "optional", "optional_no_ca"] as const;
