// The ssl_* (termination) and proxy_ssl_* (origination) settings of a server{}, with nginx's
// defaults (ngx_stream_ssl_module.c and ngx_stream_proxy_module.c merge functions).
import { ConfigError } from "./errors.ts";
import type { Config, ServerTlsConfig } from "./model.ts";

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
  handshakeTimeoutMs: 60_000,
  verifyClient: "off",
  verifyDepth: 1,
  clientCertificate: null,
  trustedCertificate: null,
  crl: null,
  alpn: [],
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
};

/**
 * The writers (convert) cannot spell TLS settings yet, and a converted config without them
 * would proxy in cleartext: refuse rather than drop them.
 */
export function refuseTls(config: Config): void {
  const s = config.stream.servers.find((x) => x.tls !== undefined);
  if (s) throw new ConfigError(`TLS settings (ssl_*, proxy_ssl_*, "listen ... ssl") cannot be converted yet`, s.loc);
}

/** The same settings with every file path passed through `at` (nginx resolves them against its prefix). */
export function mapTlsPaths(t: ServerTlsConfig, at: (path: string) => string): ServerTlsConfig {
  const opt = (p: string | null) => (p === null || p === "" ? p : at(p));
  return {
    ...t,
    certificates: t.certificates.map((c) => ({ cert: at(c.cert), key: at(c.key) })),
    passwordFile: opt(t.passwordFile),
    clientCertificate: opt(t.clientCertificate),
    trustedCertificate: opt(t.trustedCertificate),
    crl: opt(t.crl),
    proxySslTrustedCertificate: opt(t.proxySslTrustedCertificate),
    proxySslCrl: opt(t.proxySslCrl),
    proxySslCertificate: opt(t.proxySslCertificate),
    proxySslCertificateKey: opt(t.proxySslCertificateKey),
    proxySslPasswordFile: opt(t.proxySslPasswordFile),
  };
}
