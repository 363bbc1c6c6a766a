// The TLS part of the Runtime interface: what the core asks of a runtime's own TLS library to
// terminate a client's TLS (nginx's ssl phase) and to speak TLS to a backend (proxy_ssl). The
// core reads the PEM files itself, so every error names its file, and hands over text.
// Generic over runtime.ts's connection types, which instantiates it, so neither file imports
// the other both ways.
import type { TlsProtocol } from "./config/model.ts";

export interface TlsServerOptions {
  /** ssl_certificate/ssl_certificate_key pairs, in order, as PEM text. */
  readonly pairs: readonly { readonly cert: string; readonly key: string; readonly certPath: string; readonly keyPath: string }[];
  /** ssl_password_file's lines, tried in order on an encrypted key. */
  readonly passwords: readonly string[];
  readonly protocols: readonly TlsProtocol[];
  readonly ciphers: string;
  readonly preferServerCiphers: boolean;
  /** ssl_ecdh_curve ("auto" = the library's list). */
  readonly ecdhCurve: string;
  readonly sessionTimeoutS: number;
  readonly sessionTickets: boolean;
  /** ssl_verify_client: off, or which certificates are asked for and checked after the handshake. */
  readonly verifyClient: "off" | "on" | "optional" | "optional_no_ca";
  /** ssl_client_certificate: the CAs named to the client and verified against (PEM), or null. */
  readonly ca: string | null;
  /** ssl_trusted_certificate: CAs verified against but never named to the client (PEM), or null. */
  readonly trusted?: string | null;
  /** ssl_crl (PEM) or null. */
  readonly crl: string | null;
  /** ssl_alpn, in order; empty = no ALPN. */
  readonly alpn: readonly string[];
  /**
   * Set when variables choose the certificates per handshake: `pairs` is empty, each handshake
   * gets them through withCertificates(), and this text (the pairs as written) tells this
   * server's session tickets from another server's, as nginx's session id context does.
   */
  readonly certificatesPerHandshake?: string;
  /**
   * ssl_session_ticket_key files' bytes (48 or 80 each), in order: the first encrypts, all
   * decrypt. Empty: the keys are the master's shared ones (shareTicketKeys).
   */
  readonly ticketKeys?: readonly Uint8Array[];
}

/** A compiled server setup (an SSL_CTX); opaque to the core. */
export interface TlsServerContext {
  readonly verifyClient: TlsServerOptions["verifyClient"];
}

export interface TlsAcceptOptions {
  readonly context: TlsServerContext;
  /** ssl_handshake_timeout. */
  readonly timeoutMs: number;
  /** Client bytes a phase read past a PROXY header (the ClientHello's start): the handshake reads them first. */
  readonly early?: Uint8Array | null;
}

/** What a finished handshake leaves behind, for the ssl phase's checks and the `$ssl_*` variables. */
export interface TlsFacts {
  /** `TLSv1.3`… */
  readonly protocol: string;
  /** OpenSSL's name of the cipher (`TLS_AES_256_GCM_SHA384`). */
  readonly cipher: string;
  /** SNI as the client sent it, or "". */
  readonly serverName: string;
  readonly alpnProtocol: string;
  readonly sessionReused: boolean;
  /** Hex, upper case (nginx's form), or "". */
  readonly sessionId: string;
  /** The peer's certificate, when it sent one. */
  readonly peerCert: PeerCertificate | null;
  /**
   * The library's verdict on the peer's chain (node:tls's authorizationError code, such as
   * `CERT_HAS_EXPIRED`), null when it verified; only meaningful when a CA was configured.
   */
  readonly verifyError: string | null;
  /** Certificates the peer's chain has above its own (for ssl_verify_depth). */
  readonly chainDepth: number;
}

export interface PeerCertificate {
  /** RFC 2253 forms, as nginx prints them (`CN=client,O=test`). */
  readonly subject: string;
  readonly issuer: string;
  /** Hex, upper case. */
  readonly serial: string;
  /** SHA-1, lower-case hex without colons. */
  readonly fingerprint: string;
  /** PEM. */
  readonly pem: string;
  /** `Sep 12 07:05:49 2025 GMT` (OpenSSL's time text). */
  readonly validFrom: string;
  readonly validTo: string;
  /** Hostname check for proxy_ssl_verify. */
  matches(name: string): boolean;
}

export interface TlsAcceptedOf<Client> {
  /** The same client, now carrying cleartext; relay it as any other. */
  readonly connection: Client;
  readonly facts: TlsFacts;
}

/** Why a handshake did not finish, in the words nginx's log uses. */
export class TlsHandshakeError extends Error {
  constructor(
    readonly kind: "timeout" | "failed" | "closed",
    /** OpenSSL's reason (`wrong version number`), for `SSL_do_handshake() failed (SSL: …)`. */
    detail: string,
  ) {
    super(detail);
    this.name = "TlsHandshakeError";
  }
}

export interface TlsClientOptions {
  /** SNI to send, or null (proxy_ssl_server_name off, or an address literal). */
  readonly serverName: string | null;
  readonly protocols: readonly TlsProtocol[];
  readonly ciphers: string;
  /** proxy_ssl_trusted_certificate (PEM) or null; verification itself is judged by the core. */
  readonly ca: string | null;
  readonly crl: string | null;
  /** proxy_ssl_certificate/_key, or null. */
  readonly cert: { readonly cert: string; readonly key: string; readonly passwords: readonly string[] } | null;
  /** proxy_ssl_session_reuse: sessions are kept under this key (one per peer), or null for none. */
  readonly sessionKey: string | null;
  /** Bytes sent in cleartext before the handshake (proxy_protocol's header, as nginx sends it). */
  readonly preface?: Uint8Array | null;
  /** proxy_ssl_alpn's protocols, in order; empty or absent = no ALPN extension. */
  readonly alpn?: readonly string[];
}

export interface TlsSupportOf<Client, Upstream, Target, Options> {
  /** The library in nginx's `-V` form: `OpenSSL 3.0.19 27 Jan 2026`, `BoringSSL`, `rustls`. */
  readonly library: string;
  /** Whether a server can tell the name the client asked for (`TLS SNI support enabled`). */
  readonly sni: boolean;
  /**
   * What this runtime cannot do as written: null when it can, else the reason; the config is
   * then refused naming the runtime (never run weaker than written).
   */
  cannot(options: TlsServerOptions | TlsClientOptions): string | null;
  /**
   * Why this runtime's worker processes cannot share session ticket keys (each then resumes
   * only the tickets it issued itself), or null when shareTicketKeys() works.
   */
  readonly ticketKeysUnshared: string | null;
  /**
   * The master's secret for this config generation: every server setup, made before or after,
   * encrypts its tickets with keys drawn from it, so a worker resumes the others' tickets.
   */
  shareTicketKeys(secret: Uint8Array): void;
  /** A key file's permission bits (st_mode & 0o777), or null when the runtime cannot tell. */
  keyFileMode?(path: string): number | null;
  /** Compiles a server setup; throws TlsConfigError naming what failed. */
  serverContext(options: TlsServerOptions): TlsServerContext;
  /**
   * The setup one handshake uses when variables choose the certificates: `base`'s settings and
   * ticket keys (base came from serverContext with certificatesPerHandshake) with these pairs.
   * Throws TlsConfigError naming what failed. Absent where the runtime cannot do it.
   */
  withCertificates?(base: TlsServerContext, pairs: TlsServerOptions["pairs"]): TlsServerContext;
  /** Runs the server handshake on a client of a `tls` listener; rejects with TlsHandshakeError. */
  accept(client: Client, options: TlsAcceptOptions): Promise<TlsAcceptedOf<Client>>;
  /**
   * Connects to a backend on sockets a TLS client can share a relay with; with `tls`, runs the
   * client handshake inside options.timeoutMs (nginx's proxy_connect_timeout covers both).
   * Rejects with a ConnectFailure, or a TlsHandshakeError for the handshake.
   */
  connect(
    target: Target,
    options: Options,
    tls: TlsClientOptions | null,
  ): Promise<{ readonly connection: Upstream; readonly facts: TlsFacts | null }>;
}

/** A certificate or key the library refused: `what` is nginx's message up to the reason. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsConfigError";
  }
}
