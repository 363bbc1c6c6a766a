// Terminating a client's TLS: a node:tls TLSSocket over the accepted net.Socket, with the
// server setup compiled once per config (an SSL_CTX per certificate pair, as nginx has).
import type { X509Certificate } from "node:crypto";
import { setImmediate } from "node:timers";
import tls from "node:tls";
import type { ClientConnection, TlsAccepted } from "../../core/runtime.ts";
import {
  type TlsAcceptOptions,
  TlsConfigError,
  type TlsFacts,
  TlsHandshakeError,
  type TlsServerContext,
  type TlsServerOptions,
} from "../../core/runtime-tls.ts";
import { SocketConnection } from "../node/socket.ts";
import { socketFacts } from "./facts.ts";
import { checkedPair, reason, serverSecureOptions, versionRange } from "./options.ts";
import { keepTicketKeysCurrent, ticketKeysOption, useTicketKeyFiles } from "./ticket-keys.ts";
import { parseCertificates, verdictWithTrusted } from "./trust.ts";

export class NodeTlsServerContext implements TlsServerContext {
  constructor(
    readonly verifyClient: TlsServerOptions["verifyClient"],
    readonly secureContext: tls.SecureContext,
    readonly alpn: readonly string[],
    /** ssl_trusted_certificate's and ssl_client_certificate's CAs, for what `ca` cannot say. */
    readonly anchors: readonly X509Certificate[] = [],
    /** What withCertificates() builds on: the settings without certificates, and the keys' source. */
    readonly made: Made | null = null,
  ) {}
}

interface Made {
  readonly base: tls.SecureContextOptions;
  readonly passwords: readonly string[];
  readonly identity: string;
  readonly ticketKeys: readonly Uint8Array[];
}

export function serverContext(o: TlsServerOptions): NodeTlsServerContext {
  const range = versionRange(o.protocols);
  if (typeof range === "string") throw new TlsConfigError(range);
  const base: tls.SecureContextOptions = {
    minVersion: range.min,
    maxVersion: range.max,
    ciphers: o.ciphers,
    honorCipherOrder: o.preferServerCiphers,
    ...(o.ecdhCurve !== "auto" && { ecdhCurve: o.ecdhCurve }),
    sessionTimeout: o.sessionTimeoutS,
    secureOptions: serverSecureOptions(o.sessionTickets),
    // Only ssl_client_certificate: its names are the ones the CertificateRequest lists.
    ...((o.ca ?? o.trusted ?? null) !== null && { ca: o.ca ?? o.trusted! }),
    ...(o.crl !== null && { crl: o.crl }),
  };
  if (o.pairs.length === 0 && o.certificatesPerHandshake === undefined) {
    throw new TlsConfigError(`no "ssl_certificate" is defined`);
  }
  const pairs = o.pairs.map((p) => checkedPair(p, o.passwords));
  try {
    tls.createSecureContext({ ...base });
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_set_cipher_list("${o.ciphers}") failed (SSL: ${reason(err)})`);
  }
  // What tells this server block's tickets from another's: its certificates (as written, when
  // variables choose them per handshake).
  const identity = o.certificatesPerHandshake ?? pairs.map((p) => p.cert).join("\n");
  const made: Made = { base, passwords: o.passwords, identity, ticketKeys: o.ticketKeys ?? [] };
  const context = withPairs(made, pairs, null);
  let anchors: X509Certificate[] = [];
  try {
    anchors = o.trusted ? [...parseCertificates(o.trusted), ...parseCertificates(o.ca)] : [];
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_load_verify_locations() failed (SSL: ${reason(err)})`);
  }
  return new NodeTlsServerContext(o.verifyClient, context, o.alpn, anchors, made);
}

/** One handshake's setup when variables chose its certificates: the server's, with these pairs. */
export function withCertificates(base: TlsServerContext, pairs: TlsServerOptions["pairs"]): NodeTlsServerContext {
  const b = base as NodeTlsServerContext;
  if (b.made === null) throw new TlsConfigError(`no "ssl_certificate" is defined`);
  const checked = pairs.map((p) => checkedPair(p, b.made!.passwords));
  const context = withPairs(b.made, checked, b.secureContext);
  return new NodeTlsServerContext(b.verifyClient, context, b.alpn, b.anchors, b.made);
}

/**
 * A secure context of `made`'s settings with these pairs (several, RSA and ECDSA, in one
 * context: the library picks by what the client supports, as OpenSSL does for nginx), and
 * its ticket keys: the key files, else the ones shared for `identity`, else `sibling`'s.
 */
function withPairs(made: Made, pairs: readonly { cert: string; key: string }[], sibling: tls.SecureContext | null) {
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({
      ...made.base,
      ...(pairs.length > 0 && { cert: pairs.map((p) => p.cert), key: pairs.map((p) => p.key) }),
      ...(made.ticketKeys.length === 0 && ticketKeysOption(made.identity)),
    });
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_use_certificate() failed (SSL: ${reason(err)})`);
  }
  if (made.ticketKeys.length > 0) useTicketKeyFiles(context, made.ticketKeys);
  else keepTicketKeysCurrent(context, made.identity, sibling);
  return context;
}

/**
 * A server handshake's per-connection options beside its context: one place, so a runtime's
 * own handshake (Bun's native one) takes exactly what node:tls is given, or knows it cannot.
 */
export function serverSocketOptions(ctx: NodeTlsServerContext): tls.TLSSocketOptions {
  return {
    isServer: true,
    secureContext: ctx.secureContext,
    requestCert: ctx.verifyClient !== "off",
    rejectUnauthorized: false,
    ...(ctx.alpn.length > 0 && { ALPNProtocols: [...ctx.alpn] }),
  };
}

/** What a finished server handshake tells, with ssl_trusted_certificate's CAs counted in. */
export function acceptedFacts(socket: tls.TLSSocket, ctx: NodeTlsServerContext): TlsFacts {
  const facts = socketFacts(socket, true);
  return { ...facts, verifyError: verdictWithTrusted(socket, facts.verifyError, ctx.anchors, Date.now()) };
}

export function accept(client: ClientConnection, options: TlsAcceptOptions): Promise<TlsAccepted> {
  const raw = client as unknown as SocketConnection;
  if (!(raw instanceof SocketConnection)) {
    return Promise.reject(new TlsHandshakeError("failed", "the listener was not opened for TLS"));
  }
  const ctx = options.context as NodeTlsServerContext;
  if (options.early && options.early.byteLength > 0) raw.socket.unshift(Buffer.from(options.early));
  return new Promise((resolve, reject) => {
    const socket = new tls.TLSSocket(raw.socket, serverSocketOptions(ctx));
    let done = false;
    const fail = (e: TlsHandshakeError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new TlsHandshakeError("timeout", "handshake timed out")), options.timeoutMs);
    socket.once("error", (err) => fail(new TlsHandshakeError("failed", reason(err))));
    socket.once("close", () => fail(new TlsHandshakeError("closed", "peer closed connection in SSL handshake")));
    socket.once("secure", () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const accepted = {
        connection: new SocketConnection(socket) as unknown as ClientConnection,
        facts: acceptedFacts(socket, ctx),
      };
      // Node's OpenSSL writes the TLS 1.3 session tickets after 'secure': bytes the session
      // wrote now would go ahead of them, and a client that reads once (nginx's tests) would
      // never see its ticket. A turn of the event loop puts them first, as nginx sends them.
      setImmediate(() => resolve(accepted));
    });
  });
}
