// The ssl_* (termination) and proxy_ssl_* (origination) settings of a server{}, with nginx's
// defaults (ngx_stream_ssl_module.c and ngx_stream_proxy_module.c merge functions).
import type { CertificatePair, ServerTlsConfig } from "./model.ts";

export const DEFAULT_TLS: ServerTlsConfig = {
  certificates: [],
  passwordFile: null,
  protocols: ["TLSv1.2", "TLSv1.3"],
  ciphers: "HIGH:!aNULL:!MD5",
  preferServerCiphers: false,
  ecdhCurve: "auto",
  sessionCache: "none",
  sessionTimeoutMs: 300_000,
  sessionTickets: true,
  sessionTicketKeys: [],
  handshakeTimeoutMs: 60_000,
  verifyClient: "off",
  verifyDepth: 1,
  clientCertificate: null,
  trustedCertificate: null,
  crl: null,
  alpn: [],
  rejectHandshake: false,
  proxySsl: false,
  proxySslServerName: false,
  proxySslName: null,
  proxySslVerify: false,
  proxySslVerifyDepth: 1,
  proxySslTrustedCertificate: null,
  proxySslCrl: null,
  proxySslCertificate: null,
  proxySslCertificateKey: null,
  proxySslPasswordFile: null,
  proxySslProtocols: ["TLSv1.2", "TLSv1.3"],
  proxySslCiphers: "DEFAULT",
  proxySslSessionReuse: true,
  proxySslAlpn: [],
};

/** The model fields each path-valued TLS directive fills (prefix-paths.ts resolves them). */
export const TLS_PATH_FIELDS = {
  ssl_password_file: "passwordFile",
  ssl_client_certificate: "clientCertificate",
  ssl_trusted_certificate: "trustedCertificate",
  ssl_crl: "crl",
  proxy_ssl_trusted_certificate: "proxySslTrustedCertificate",
  proxy_ssl_crl: "proxySslCrl",
  proxy_ssl_certificate: "proxySslCertificate",
  proxy_ssl_certificate_key: "proxySslCertificateKey",
  proxy_ssl_password_file: "proxySslPasswordFile",
} as const satisfies Record<string, keyof ServerTlsConfig>;

type At = (path: string) => string;

/** Whether a certificate pair is evaluated per handshake (nginx counts any `$` as a variable). */
export function certificatePairHasVariables(c: CertificatePair): boolean {
  return c.cert.includes("$") || c.key.includes("$");
}

/** Inline PEM (`data:…`) is no path. */
export const isInlinePem = (p: string): boolean => p.startsWith("data:");

/** One TLS directive's path(s) in a server's settings passed through `at`; "" (no file) stays. */
export function mapTlsPath(t: ServerTlsConfig, directive: string, at: At): ServerTlsConfig {
  const opt = (p: string | null) => (p === null || p === "" ? p : at(p));
  // A pair with variables is resolved once evaluated (ngx_ssl_cache_init_key), against the same base.
  const pair = (c: CertificatePair, p: string) => isInlinePem(p) ? p : certificatePairHasVariables(c) ? p : opt(p)!;
  const based = (c: CertificatePair) => (certificatePairHasVariables(c) ? { base: at(".") } : {});
  if (directive === "ssl_certificate") {
    return { ...t, certificates: t.certificates.map((c) => ({ ...c, cert: pair(c, c.cert), ...based(c) })) };
  }
  if (directive === "ssl_certificate_key") {
    return { ...t, certificates: t.certificates.map((c) => ({ ...c, key: pair(c, c.key), ...based(c) })) };
  }
  if (directive === "ssl_session_ticket_key") return { ...t, sessionTicketKeys: t.sessionTicketKeys.map(at) };
  const field = TLS_PATH_FIELDS[directive as keyof typeof TLS_PATH_FIELDS];
  if (field === undefined) throw new Error(`"${directive}" names no TLS path`);
  return { ...t, [field]: opt(t[field]) };
}
