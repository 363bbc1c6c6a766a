// Connecting to a backend for a session that has TLS on either side: node:net or node:tls
// sockets, so both sides relay as the same kind of stream (node/socket.ts's relay).
import net from "node:net";
import tls from "node:tls";
import { ConnectFailure, type ConnectOptions, type ConnectTarget, type UpstreamConnection } from "../../core/runtime.ts";
import { type TlsClientOptions, type TlsFacts, TlsHandshakeError } from "../../core/runtime-tls.ts";
import { toConnectFailure } from "../node/connect.ts";
import { connectSocket, SocketConnection } from "../node/socket.ts";
import { socketFacts } from "./facts.ts";
import { keyPem, reason, unlockKey, versionRange } from "./options.ts";

/** proxy_ssl_session_reuse: the last session of each peer (nginx keeps one per peer too). */
const sessions = new Map<string, Buffer>();
const MAX_SESSIONS = 1024;

/** proxy_ssl_certificate_key, decrypted once per key text rather than per connection. */
const keys = new Map<string, string>();

export function clientKey(pem: string, passwords: readonly string[]): string {
  let key = keys.get(pem);
  if (key === undefined) {
    const unlocked = unlockKey(pem, passwords);
    if ("error" in unlocked) throw new TlsHandshakeError("failed", `cannot load certificate key: ${reason(unlocked.error)}`);
    if (keys.size >= 64) keys.delete(keys.keys().next().value!);
    keys.set(pem, key = keyPem(unlocked.key));
  }
  return key;
}

export async function connect(
  target: ConnectTarget,
  options: ConnectOptions,
  t: TlsClientOptions | null,
): Promise<{ connection: UpstreamConnection; facts: TlsFacts | null }> {
  if (t === null) {
    const c = await connectSocket(target, options, toConnectFailure);
    return { connection: c as unknown as UpstreamConnection, facts: null };
  }
  const range = versionRange(t.protocols);
  if (typeof range === "string") throw new TlsHandshakeError("failed", range);
  const key = t.cert === null ? null : clientKey(t.cert.key, t.cert.passwords);
  const session = t.sessionKey !== null ? sessions.get(t.sessionKey) : undefined;
  return new Promise((resolve, reject) => {
    // A PROXY header goes first, in cleartext, on the TCP socket the handshake then runs over.
    const raw = t.preface
      ? net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: options.noDelay })
      : null;
    if (raw) raw.write(t.preface!);
    const socket = tls.connect({
      ...(raw ? { socket: raw } : { host: target.host, port: target.port }),
      ...(t.serverName !== null && net.isIP(t.serverName) === 0 && { servername: t.serverName }),
      minVersion: range.min,
      maxVersion: range.max,
      ciphers: t.ciphers,
      ...(t.ca !== null && { ca: t.ca }),
      ...(t.crl !== null && { crl: t.crl }),
      ...(t.cert !== null && key !== null && { cert: t.cert.cert, key }),
      ...(session !== undefined && { session }),
      ...(t.alpn !== undefined && t.alpn.length > 0 && { ALPNProtocols: [...t.alpn] }),
      // The core judges the verdict (proxy_ssl_verify), as nginx does after the handshake.
      rejectUnauthorized: false,
      // Node's default hostname check only runs with rejectUnauthorized; the core does its own.
      checkServerIdentity: () => undefined,
      allowHalfOpen: true,
      noDelay: options.noDelay,
      keepAlive: options.keepAlive,
    } as unknown as tls.ConnectionOptions);
    let connected = false;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      raw?.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        fail(
          connected
            ? new TlsHandshakeError("timeout", "handshake timed out")
            : new ConnectFailure("timeout", "ETIMEDOUT", "Connection timed out"),
        ),
      options.timeoutMs,
    );
    socket.once("connect", () => (connected = true));
    raw?.once("connect", () => (connected = true));
    raw?.once(
      "error",
      (err: NodeJS.ErrnoException) =>
        fail(
          connected
            ? new TlsHandshakeError("failed", reason(err))
            : toConnectFailure(err.code ?? "", `${target.host}:${target.port}`),
        ),
    );
    if (t.sessionKey !== null) {
      const key = t.sessionKey;
      socket.on("session", (s: Buffer) => {
        if (sessions.size >= MAX_SESSIONS && !sessions.has(key)) sessions.delete(sessions.keys().next().value!);
        sessions.set(key, s);
      });
    }
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (!connected && err.code && !err.code.startsWith("ERR_SSL")) {
        fail(toConnectFailure(err.code, `${target.host}:${target.port}`));
      } else fail(new TlsHandshakeError("failed", reason(err)));
    });
    socket.once("close", () => fail(new TlsHandshakeError("closed", "peer closed connection in SSL handshake")));
    socket.once("secureConnect", () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const facts = socketFacts(socket, false);
      resolve({ connection: new SocketConnection(socket) as unknown as UpstreamConnection, facts });
    });
  });
}
