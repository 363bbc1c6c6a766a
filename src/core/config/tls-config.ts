// The ssl_* (termination) and proxy_ssl_* (origination) settings of a server{}, with nginx's
// defaults (ngx_stream_ssl_module.c and ngx_stream_proxy_module.c merge functions).
import type { TlsProtocol } from "../tls.ts";

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export interface ServerTlsConfig {
  readonly certificates: readonly CertificatePair[];
  readonly passwordFile: string | null;
  readonly protocols: readonly TlsProtocol[];
  readonly ciphers: string;
  readonly preferServerCiphers: boolean;
  readonly ecdhCurve: string;
  /** ssl_session_cache as written (`none`, `off`, `shared:SSL:10m`...). */
  readonly sessionCache: string;
  readonly sessionTimeoutMs: number;
  readonly sessionTickets: boolean;
  readonly handshakeTimeoutMs: number;
  readonly verifyClient: "off" | "on" | "optional" | "optional_no_ca";
  readonly verifyDepth: number;
  readonly clientCertificate: string | null;
  readonly trustedCertificate: string | null;
  readonly crl: string | null;
  readonly alpn: readonly string[];

  readonly proxySsl: boolean;
  readonly proxySslServerName: boolean;
  /** null = the proxy_pass host. */
  readonly proxySslName: string | null;
  readonly proxySslVerify: boolean;
  readonly proxySslVerifyDepth: number;
  readonly proxySslTrustedCertificate: string | null;
  readonly proxySslCrl: string | null;
  readonly proxySslCertificate: string | null;
  readonly proxySslCertificateKey: string | null;
  readonly proxySslPasswordFile: string | null;
  readonly proxySslProtocols: readonly TlsProtocol[];
  readonly proxySslCiphers: string;
  readonly proxySslSessionReuse: boolean;
}

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

/** Whether a server uses TLS on either side (the writers cannot spell these settings yet). */
export function usesTls(server: { readonly listen: readonly { readonly ssl?: boolean }[]; readonly tls?: ServerTlsConfig }): boolean {
  return server.listen.some((l) => l.ssl === true) || server.tls?.proxySsl === true;
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
