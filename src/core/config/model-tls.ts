// The TLS part of the config model (model.ts): listen … ssl, ssl_* and proxy_ssl_* settings.
/** One protocol nginx names in ssl_protocols. */
export type TlsProtocol = "SSLv2" | "SSLv3" | "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** The ssl_* (termination) and proxy_ssl_* (origination) settings; defaults in tls-config.ts. */
export interface CertificatePair {
  /** A path, `data:` and inline PEM, or either with variables (evaluated per handshake). */
  readonly cert: string;
  readonly key: string;
  /**
   * Where a relative path that variables make at handshake time resolves (the prefix);
   * absent until the prefix is applied, and for pairs without variables (resolved at load).
   */
  readonly base?: string;
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
  /** ssl_session_ticket_key files, in order: the first encrypts, every one decrypts. */
  readonly sessionTicketKeys: readonly string[];
  readonly handshakeTimeoutMs: number;
  readonly verifyClient: "off" | "on" | "optional" | "optional_no_ca";
  readonly verifyDepth: number;
  readonly clientCertificate: string | null;
  readonly trustedCertificate: string | null;
  readonly crl: string | null;
  readonly alpn: readonly string[];
  /** ssl_reject_handshake: a client this server is chosen for gets an `unrecognized_name` alert. */
  readonly rejectHandshake: boolean;

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
  /** proxy_ssl_alpn as written (complex values); empty = no ALPN sent. */
  readonly proxySslAlpn: readonly string[];
}
