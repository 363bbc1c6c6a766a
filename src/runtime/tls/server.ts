// Terminating a client's TLS: a node:tls TLSSocket over the accepted net.Socket, with the
// server setup compiled once per config (an SSL_CTX per certificate pair, as nginx has).
import type { X509Certificate } from "node:crypto";
import { setImmediate } from "node:timers";
import tls from "node:tls";
import type { ClientConnection, TlsAccepted } from "../../core/runtime.ts";
import {
  type TlsAcceptOptions,
  TlsConfigError,
  TlsHandshakeError,
  type TlsServerContext,
  type TlsServerOptions,
} from "../../core/runtime-tls.ts";
import { SocketConnection } from "../node/socket.ts";
import { socketFacts } from "./facts.ts";
import { checkedPair, reason, serverSecureOptions, versionRange } from "./options.ts";
import { keepTicketKeysCurrent, ticketKeysOption } from "./ticket-keys.ts";
import { parseCertificates, verdictWithTrusted } from "./trust.ts";

export class NodeTlsServerContext implements TlsServerContext {
  constructor(
    readonly verifyClient: TlsServerOptions["verifyClient"],
    readonly secureContext: tls.SecureContext,
    readonly alpn: readonly string[],
    /** ssl_trusted_certificate's and ssl_client_certificate's CAs, for what `ca` cannot say. */
    readonly anchors: readonly X509Certificate[] = [],
  ) {}
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
  if (o.pairs.length === 0) throw new TlsConfigError(`no "ssl_certificate" is defined`);
  const pairs = o.pairs.map((p) => checkedPair(p, o.passwords));
  try {
    tls.createSecureContext({ ...base });
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_set_cipher_list("${o.ciphers}") failed (SSL: ${reason(err)})`);
  }
  // Several pairs (RSA and ECDSA) in one context: the library picks by what the client
  // supports, as OpenSSL does for nginx.
  let context: tls.SecureContext;
  // What tells this server block's tickets from another's: its certificates.
  const identity = pairs.map((p) => p.cert).join("\n");
  try {
    context = tls.createSecureContext({
      ...base,
      cert: pairs.map((p) => p.cert),
      key: pairs.map((p) => p.key),
      ...ticketKeysOption(identity),
    });
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_use_certificate() failed (SSL: ${reason(err)})`);
  }
  keepTicketKeysCurrent(context, identity);
  let anchors: X509Certificate[] = [];
  try {
    anchors = o.trusted ? [...parseCertificates(o.trusted), ...parseCertificates(o.ca)] : [];
  } catch (err) {
    throw new TlsConfigError(`SSL_CTX_load_verify_locations() failed (SSL: ${reason(err)})`);
  }
  return new NodeTlsServerContext(o.verifyClient, context, o.alpn, anchors);
}

export function accept(client: ClientConnection, options: TlsAcceptOptions): Promise<TlsAccepted> {
  const raw = client as unknown as SocketConnection;
  if (!(raw instanceof SocketConnection)) {
    return Promise.reject(new TlsHandshakeError("failed", "the listener was not opened for TLS"));
  }
  const ctx = options.context as NodeTlsServerContext;
  if (options.early && options.early.byteLength > 0) raw.socket.unshift(Buffer.from(options.early));
  return new Promise((resolve, reject) => {
    const socket = new tls.TLSSocket(raw.socket, {
      isServer: true,
      secureContext: ctx.secureContext,
      requestCert: ctx.verifyClient !== "off",
      rejectUnauthorized: false,
      ...(ctx.alpn.length > 0 && { ALPNProtocols: [...ctx.alpn] }),
    });
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
      const conn = new SocketConnection(socket);
      const facts = socketFacts(socket, true);
      const verifyError = verdictWithTrusted(socket, facts.verifyError, ctx.anchors, Date.now());
      // Node's OpenSSL writes the TLS 1.3 session tickets after 'secure': bytes the session
      // wrote now would go ahead of them, and a client that reads once (nginx's tests) would
      // never see its ticket. A turn of the event loop puts them first, as nginx sends them.
      setImmediate(() => resolve({ connection: conn as unknown as ClientConnection, facts: { ...facts, verifyError } }));
    });
  });
}
