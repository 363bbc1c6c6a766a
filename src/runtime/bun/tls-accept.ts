// Terminating a client's TLS on Bun: the natively accepted socket is upgraded in place
// (upgradeTLS, server side) with the setup node:tls compiled (its SSL_CTX), so the session
// stays on native sockets and the native relay: full handshakes cost less CPU and bulk moves
// faster than through node:tls's streams (test/bench/RESULTS.md). The phases before (PROXY
// header, the ClientHello peeked for the server name) read the raw socket as on any listener;
// what they read past their own bytes is handed to the handshake first.
// A setup with anything the native handshake does not take runs on node:tls over the same
// socket (native-duplex.ts): slower, never weaker.
import type { ClientConnection, TlsAccepted } from "../../core/runtime.ts";
import { type TlsAcceptOptions, TlsHandshakeError } from "../../core/runtime-tls.ts";
import { accept as acceptOnNodeTls, acceptedFacts, type NodeTlsServerContext, serverSocketOptions } from "../tls/server.ts";
import { SocketConnection } from "../node/socket.ts";
import { BunConnection, type BunSocket, newSide, resume } from "./connection.ts";
import { asStreamConnection } from "./native-duplex.ts";
import { concat, Handshake, handshakeHandlers, upgraded } from "./tls-handshake.ts";
import { nativeServerOptions } from "./tls-options.ts";
import { NativeTlsView } from "./tls-view.ts";

export function accept(client: ClientConnection, options: TlsAcceptOptions): Promise<TlsAccepted> {
  const ctx = options.context as NodeTlsServerContext;
  if (client instanceof SocketConnection) return acceptOnNodeTls(client, options);
  const conn = client as unknown as BunConnection;
  if (!(conn instanceof BunConnection)) {
    return Promise.reject(new TlsHandshakeError("failed", "the listener was not opened for TLS"));
  }
  const native = nativeServerOptions(serverSocketOptions(ctx));
  if (native === null) return acceptOverNodeTls(conn, options);
  return acceptNative(conn, ctx, native, options);
}

/** node:tls's handshake over a native socket, for a setup the native one does not take. */
export function acceptOverNodeTls(conn: BunConnection, options: TlsAcceptOptions): Promise<TlsAccepted> {
  return acceptOnNodeTls(asStreamConnection(conn) as unknown as ClientConnection, options);
}

function acceptNative(
  conn: BunConnection,
  ctx: NodeTlsServerContext,
  native: Record<string, unknown>,
  options: TlsAcceptOptions,
): Promise<TlsAccepted> {
  const raw = conn.socket;
  const side = raw.data;
  if (side.earlyClose || side.earlyEof || conn.closed) {
    conn.close();
    return Promise.reject(new TlsHandshakeError("closed", "peer closed connection in SSL handshake"));
  }
  // The handshake reads first what the phases read past their own bytes, then what waited.
  const first = [...(options.early && options.early.byteLength > 0 ? [options.early] : []), ...(side.early ?? [])];
  side.early = null;
  side.earlyBytes = 0;
  let tlsSocket: BunSocket | null = null;
  side.relay = upgraded(() => tlsSocket) as unknown as typeof side.relay;
  if (side.paused) resume(raw);
  return new Promise((resolve, reject) => {
    const tlsSide = newSide(raw, conn.unix);
    const timedOut = () => new TlsHandshakeError("timeout", "handshake timed out");
    tlsSide.reader = new Handshake(tlsSide, options.timeoutMs, timedOut, (end) => {
      if (end instanceof Error) {
        tlsSocket?.end();
        raw.end();
        return reject(end);
      }
      const view = new NativeTlsView(end.socket, end.verifyError).asTlsSocket();
      resolve({ connection: end.socket.data.conn as unknown as ClientConnection, facts: acceptedFacts(view, ctx) });
    });
    try {
      const pair = (raw as unknown as { upgradeTLS(o: object): [BunSocket, BunSocket] }).upgradeTLS({
        isServer: true,
        tls: native,
        data: tlsSide,
        socket: handshakeHandlers,
        ...(first.length > 0 && { initialData: concat(first) }),
      });
      tlsSocket = pair[1];
      tlsSide.conn = new BunConnection(tlsSocket, conn.unix);
    } catch (err) {
      (tlsSide.reader as Handshake).settle(new TlsHandshakeError("failed", err instanceof Error ? err.message : String(err)));
    }
  });
}
