// proxy_ssl on Bun: the backend's TLS on a native socket (Bun.connect with node:tls's compiled
// client setup, or a plain one upgraded after a PROXY header), so a session stays on the native
// relay whichever side has TLS. What the native client cannot take as written (an option this
// file does not know, a unix: backend) connects on node:tls as before (tls/client.ts).
import { isIP } from "node:net";
import tls from "node:tls";
import { ConnectFailure, type ConnectOptions, type ConnectTarget, type UpstreamConnection } from "../../core/runtime.ts";
import { type TlsClientOptions, type TlsFacts, TlsHandshakeError } from "../../core/runtime-tls.ts";
import { clientKey, connect as connectOnNodeTls } from "../tls/client.ts";
import { socketFacts } from "../tls/facts.ts";
import { reason, versionRange } from "../tls/options.ts";
import { BunConnection, type BunSocket, newSide, type Side } from "./connection.ts";
import { toConnectFailure } from "./tcp.ts";
import { concat, Handshake, type HandshakeEnd, handshakeHandlers, upgraded } from "./tls-handshake.ts";
import { alpnWire } from "./tls-options.ts";
import { NativeTlsView } from "./tls-view.ts";

type Connected = { connection: UpstreamConnection; facts: TlsFacts | null };

/** The TlsClientOptions this file takes; a new one goes to node:tls until it is taught here. */
const KNOWN = new Set(["serverName", "protocols", "ciphers", "ca", "crl", "cert", "sessionKey", "preface", "alpn"]);

/** proxy_ssl_session_reuse: the last session of each peer (nginx keeps one per peer too). */
const sessions = new Map<string, Buffer>();
const MAX_SESSIONS = 1024;

/** Client setups (SSL_CTX), one per distinct settings: node:tls makes one per connect. */
const contexts = new Map<string, tls.SecureContext>();

function clientContext(t: TlsClientOptions): tls.SecureContext {
  const range = versionRange(t.protocols);
  if (typeof range === "string") throw new TlsHandshakeError("failed", range);
  const id = JSON.stringify([t.protocols, t.ciphers, t.ca, t.crl, t.cert?.cert ?? null, t.cert?.key ?? null]);
  let context = contexts.get(id);
  if (context === undefined) {
    const key = t.cert === null ? null : clientKey(t.cert.key, t.cert.passwords);
    try {
      context = tls.createSecureContext({
        minVersion: range.min,
        maxVersion: range.max,
        ciphers: t.ciphers,
        ...(t.ca !== null && { ca: t.ca }),
        ...(t.crl !== null && { crl: t.crl }),
        ...(t.cert !== null && key !== null && { cert: t.cert.cert, key }),
        // Bun keeps the verify mode in the native setup: the handshake must not refuse the
        // peer's chain itself; the core judges it (proxy_ssl_verify), as nginx does after it.
        rejectUnauthorized: false,
      } as tls.SecureContextOptions);
    } catch (err) {
      throw new TlsHandshakeError("failed", reason(err));
    }
    if (contexts.size >= 64) contexts.delete(contexts.keys().next().value!);
    contexts.set(id, context);
  }
  return context;
}

/** A connect in flight: it rides in the socket's `data` until the TCP connection opens. */
class PendingTlsConnect {
  connected = false;
  settled = false;
  handshake: Handshake | null = null;
  constructor(
    readonly t: TlsClientOptions,
    readonly options: ConnectOptions,
    readonly native: Record<string, unknown>,
    readonly done: (r: Connected | Error) => void,
  ) {}
  fail(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.done(e);
  }
}

function tlsOptions(t: TlsClientOptions, context: tls.SecureContext): Record<string, unknown> {
  return {
    secureContext: (context as unknown as { context: unknown }).context,
    // "" keeps Bun from sending the address it connects to as SNI; nginx sends none then.
    serverName: t.serverName !== null && isIP(t.serverName) === 0 ? t.serverName : "",
    // The core judges the verdict (proxy_ssl_verify), as nginx does after the handshake.
    rejectUnauthorized: false,
    ...(t.alpn !== undefined && t.alpn.length > 0 && { ALPNProtocols: alpnWire(t.alpn) }),
  };
}

/** The handshake's end: the facts as node:tls's sockets give them, or the failure. */
function handshakeEnded(p: PendingTlsConnect, side: Side, end: HandshakeEnd, raw: BunSocket | null): void {
  if (end instanceof Error) {
    side.conn.socket.end();
    raw?.end();
    return p.fail(end);
  }
  if (p.settled) return void end.socket.end();
  p.settled = true;
  // Bun checks the name it sent as SNI after the chain; the core checks proxy_ssl_name itself,
  // so that code says only that the chain verified.
  const chain = end.verifyError === "ERR_TLS_CERT_ALTNAME_INVALID" ? null : end.verifyError;
  const facts = socketFacts(new NativeTlsView(end.socket, chain).asTlsSocket(), false);
  p.done({ connection: end.socket.data.conn as unknown as UpstreamConnection, facts });
}

/**
 * The pending handshake of a TLS socket that just opened. connect()'s own timer is the
 * deadline (proxy_connect_timeout covers the connect and the handshake); this one only backs it.
 */
function startHandshake(p: PendingTlsConnect, s: BunSocket, raw: BunSocket | null): Side {
  const side = newSide(s);
  const timedOut = () => new TlsHandshakeError("timeout", "handshake timed out");
  side.reader = p.handshake = new Handshake(side, p.options.timeoutMs, timedOut, (end) => handshakeEnded(p, side, end, raw));
  if (p.t.sessionKey !== null) sessionKeys.set(side, p.t.sessionKey);
  return side;
}

/** proxy_ssl_session_reuse: the peer's last session is offered (in `open`, before any write). */
function offerSession(s: BunSocket): void {
  const key = sessionKeys.get(s.data);
  const session = key === undefined ? undefined : sessions.get(key);
  if (session !== undefined) (s as unknown as { setSession(b: Buffer): void }).setSession(session);
}

function tuned(s: BunSocket, options: ConnectOptions): void {
  if (!options.noDelay) s.setNoDelay(false);
  if (options.keepAlive) s.setKeepAlive(true, 0);
}

const tlsConnectHandlers = {
  ...handshakeHandlers,
  open(s: BunSocket) {
    const p = s.data as unknown as PendingTlsConnect;
    if (p.settled) return void s.end(); // connected after the deadline
    p.connected = true;
    tuned(s, p.options);
    s.data = startHandshake(p, s, null);
    offerSession(s);
  },
  connectError(s: BunSocket, err: unknown) {
    (s.data as unknown as PendingTlsConnect).fail(
      toConnectFailure(err, (s.data as unknown as PendingTlsConnect).options.localAddress),
    );
  },
  session(s: BunSocket, session: Buffer) {
    const key = sessionKeys.get(s.data);
    if (key === undefined) return;
    if (sessions.size >= MAX_SESSIONS && !sessions.has(key)) sessions.delete(sessions.keys().next().value!);
    sessions.set(key, session);
  },
};

/** proxy_ssl_session_reuse's key of a socket's session (its Side), for the `session` event. */
const sessionKeys = new WeakMap<object, string>();

/** The TLS socket an upgrade makes: its Side came with it; Bun calls `open` before the ClientHello. */
const upgradedHandlers = { ...tlsConnectHandlers, open: offerSession };

/** A plain connection that sends the PROXY header, then upgrades to TLS on the same socket. */
const prefaceHandlers = {
  ...handshakeHandlers,
  open(s: BunSocket) {
    const p = s.data as unknown as PendingTlsConnect;
    if (p.settled) return void s.end();
    p.connected = true;
    tuned(s, p.options);
    const preface = p.t.preface!;
    const n = s.write(preface);
    s.data = newSide(s);
    if (n === preface.byteLength) return upgrade(p, s);
    // A fresh socket takes a PROXY header whole; if not, fail as a short write would.
    p.fail(new TlsHandshakeError("failed", "the PROXY protocol header could not be sent"));
    s.end();
  },
  connectError(s: BunSocket, err: unknown) {
    (s.data as unknown as PendingTlsConnect).fail(
      toConnectFailure(err, (s.data as unknown as PendingTlsConnect).options.localAddress),
    );
  },
};

function upgrade(p: PendingTlsConnect, raw: BunSocket): void {
  let tlsSocket: BunSocket | null = null;
  const rawSide = raw.data;
  const early = rawSide.early;
  rawSide.relay = upgraded(() => tlsSocket) as unknown as typeof rawSide.relay;
  const side = startHandshake(p, raw, raw);
  try {
    const pair = (raw as unknown as { upgradeTLS(o: object): [BunSocket, BunSocket] }).upgradeTLS({
      tls: p.native,
      data: side,
      socket: upgradedHandlers,
      ...(early && early.length > 0 && { initialData: concat(early) }),
    });
    tlsSocket = pair[1];
    side.conn = new BunConnection(tlsSocket, null);
  } catch (err) {
    p.handshake?.settle(new TlsHandshakeError("failed", err instanceof Error ? err.message : String(err)));
  }
}

export function connect(target: ConnectTarget, options: ConnectOptions, t: TlsClientOptions): Promise<Connected> {
  if (target.unixPath !== undefined || Object.keys(t).some((k) => !KNOWN.has(k))) {
    return connectOnNodeTls(target, options, t);
  }
  let native: Record<string, unknown>;
  try {
    native = tlsOptions(t, clientContext(t));
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.handshake?.settle(new TlsHandshakeError("timeout", "handshake timed out"));
      p.fail(
        p.connected
          ? new TlsHandshakeError("timeout", "handshake timed out")
          : new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"),
      );
    }, options.timeoutMs);
    const p = new PendingTlsConnect(t, options, native, (r) => {
      clearTimeout(timer);
      if (r instanceof Error) reject(r);
      else resolve(r);
    });
    const data = p as unknown as Side;
    const base = {
      hostname: target.host,
      port: target.port,
      allowHalfOpen: true,
      data,
      // proxy_bind: Bun.connect binds it, though bun-types does not declare the option.
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    };
    const connecting = t.preface
      ? Bun.connect<Side>({ ...base, socket: prefaceHandlers } as unknown as Parameters<typeof Bun.connect<Side>>[0])
      : Bun.connect<Side>(
        { ...base, tls: native, socket: tlsConnectHandlers } as unknown as Parameters<typeof Bun.connect<Side>>[0],
      );
    connecting.catch((err: unknown) => p.fail(toConnectFailure(err, options.localAddress)));
  });
}
