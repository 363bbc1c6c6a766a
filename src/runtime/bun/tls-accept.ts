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
import { BunConnection, type BunSocket, newSide, resume, type Side } from "./connection.ts";
import { asStreamConnection } from "./native-duplex.ts";
import { relayHandlers } from "./relay.ts";
import { nativeServerOptions } from "./tls-options.ts";
import { NativeTlsView } from "./tls-view.ts";

/**
 * The raw socket's events after the upgrade: Bun still shows it the ciphertext, which the TLS
 * socket reads itself, so they are let go (relay.ts's handlers call this as they call a relay);
 * closing the raw connection closes the TLS socket over it.
 */
function upgraded(tlsSocket: () => BunSocket | null) {
  const ignore = () => {};
  return { onData: ignore, onDrain: ignore, onEnd: ignore, onClose: ignore, finish: () => tlsSocket()?.end() };
}

/**
 * A handshake in flight. It waits in the TLS socket's Side as its pending read, which is how
 * relay.ts's handlers tell of an end or a close before the handshake event.
 */
class Handshake {
  settled = false;
  /** A pending read's own timer, which relay.ts's handlers clear: this one keeps its deadline. */
  readonly timer = undefined;
  private readonly deadline: ReturnType<typeof setTimeout>;
  constructor(
    readonly side: Side,
    readonly ctx: NodeTlsServerContext,
    timeoutMs: number,
    private readonly done: (r: TlsAccepted | TlsHandshakeError) => void,
  ) {
    this.deadline = setTimeout(() => this.settle(new TlsHandshakeError("timeout", "handshake timed out")), timeoutMs);
  }
  settle(r: TlsAccepted | TlsHandshakeError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.done(r);
  }
  resolve(chunk: Uint8Array | null): void {
    if (chunk === null) return this.settle(new TlsHandshakeError("closed", "peer closed connection in SSL handshake"));
    // Bytes before the handshake event (not seen, but cheap to keep): they wait for the relay.
    (this.side.early ??= []).unshift(chunk);
    this.side.earlyBytes += chunk.byteLength;
    this.side.bytesIn -= chunk.byteLength;
    this.side.reader = this;
  }
  reject(): void {
    this.settle(new TlsHandshakeError("closed", "peer closed connection in SSL handshake"));
  }
}

/** relay.ts's handlers, and the handshake's end (Bun calls it once, on success or failure). */
const tlsHandlers = {
  ...relayHandlers,
  handshake(s: BunSocket, ok: boolean, verifyError: { code?: string; message?: string } | null) {
    const side = s.data;
    const h = side.reader;
    if (!(h instanceof Handshake) || h.settled) return;
    side.reader = null;
    if (!ok) {
      s.end();
      return h.settle(new TlsHandshakeError("failed", libraryReason(verifyError)));
    }
    const view = new NativeTlsView(s, verifyError?.code ?? null);
    h.settle({ connection: side.conn as unknown as ClientConnection, facts: acceptedFacts(view.asTlsSocket(), h.ctx) });
  },
};

/**
 * BoringSSL's `error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST` as node:tls on Bun
 * words it (its reason), so the log reads the same on either path.
 */
function libraryReason(e: { code?: string; message?: string } | null): string {
  const m = e?.message ?? "";
  const reason = /^error:[0-9a-fA-F]+:[^:]*:[^:]*:(.+)$/.exec(m)?.[1];
  return reason ?? (m || e?.code || "handshake failed");
}

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
    const h = new Handshake(tlsSide, ctx, options.timeoutMs, (r) => {
      if (r instanceof TlsHandshakeError) {
        tlsSocket?.end();
        raw.end();
        reject(r);
      } else resolve(r);
    });
    tlsSide.reader = h;
    try {
      const pair = (raw as unknown as { upgradeTLS(o: object): [BunSocket, BunSocket] }).upgradeTLS({
        isServer: true,
        tls: native,
        data: tlsSide,
        socket: tlsHandlers,
        ...(first.length > 0 && { initialData: concat(first) }),
      });
      tlsSocket = pair[1];
      tlsSide.conn = new BunConnection(tlsSocket, conn.unix);
    } catch (err) {
      h.settle(new TlsHandshakeError("failed", err instanceof Error ? err.message : String(err)));
    }
  });
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
