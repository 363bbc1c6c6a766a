// What the ssl phase needs from the adapter this runner runs on (node --test, bun test, deno
// test), over real loopback sockets: a handshake on an accepted client after a phase read the
// socket first (a PROXY header before the ClientHello), the facts it leaves, the relay to a
// plain backend, and handshakes that stall or get garbage. On Bun the handshake runs on the
// native socket; a setup it cannot take runs on node:tls over that socket, checked here too.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";
import type {
  ClientConnection,
  ConnectOptions,
  RelayOptions,
  RelayResult,
  Runtime,
  TlsAccepted,
  TlsSupport,
  UpstreamConnection,
} from "../../src/core/runtime.ts";
import { type TlsAcceptOptions, TlsHandshakeError, type TlsServerContext } from "../../src/core/runtime-tls.ts";
import { detectRuntime } from "../../src/runtime/detect.ts";
import { type Backend, startNamedEcho } from "../support/backends.ts";
import { type Certs, makeCerts } from "../support/certs.ts";

const CONNECT: ConnectOptions = { timeoutMs: 2000, noDelay: true, keepAlive: false };
const RELAY: RelayOptions = { idleTimeoutMs: 10_000, halfClose: false, bufferSize: 16384 };
const PREFACE = "PREFACE\r\n";
const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
// Beside detect.ts's adapters: source (.ts) under Bun, built (.js) where it runs built.
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

function tlsOf(runtime: Runtime): TlsSupport {
  assert.ok(runtime.tls, `${runtime.name} has TLS`);
  return runtime.tls;
}

/** A TLS listener of the runtime under test whose accepted connections are taken one by one. */
async function acceptor(runtime: Runtime) {
  const waiting: ClientConnection[] = [];
  const takers: ((c: ClientConnection) => void)[] = [];
  const listener = await runtime.listen(
    { host: "127.0.0.1", port: 0, noDelay: true, tls: true },
    (c) => (takers.length ? takers.shift()!(c) : waiting.push(c)),
  );
  const next = () => new Promise<ClientConnection>((r) => (waiting.length ? r(waiting.shift()!) : takers.push(r)));
  return { listener, next };
}

/**
 * A TLS client that sends PREFACE in cleartext first, as a PROXY protocol client does, in the
 * same write as its ClientHello: the phase's read then takes both, and the handshake must start
 * from what that read took past the preface.
 */
function tlsClient(port: number, o: tls.ConnectionOptions) {
  const raw = net.connect({ host: "127.0.0.1", port });
  raw.setNoDelay(true);
  raw.on("error", () => {});
  let first = true;
  const carrier = new Duplex({
    read: () => void raw.resume(),
    write(chunk: Buffer, _e, done) {
      raw.write(first ? Buffer.concat([Buffer.from(PREFACE), chunk]) : chunk, done);
      first = false;
    },
    final(done) {
      raw.end();
      done();
    },
  });
  raw.on("data", (d: Buffer) => void (carrier.push(d) || raw.pause()));
  raw.on("end", () => carrier.push(null));
  raw.on("close", () => carrier.destroy());
  const socket = tls.connect({ socket: carrier, rejectUnauthorized: false, ...o });
  socket.on("error", () => {});
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (text += d));
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  const until = async (want: string) => {
    for (let i = 0; i < 500 && !text.includes(want); i++) await new Promise((r) => setTimeout(r, 10));
    return text;
  };
  return { socket, closed, until };
}

/** The phase before the ssl one: reads until PREFACE is whole, and hands on what came after it. */
async function readPreface(conn: ClientConnection): Promise<Uint8Array> {
  let got = new Uint8Array(0);
  while (got.byteLength < PREFACE.length) {
    const chunk = await conn.read(2000);
    assert.ok(chunk, "the client's preface arrived");
    got = new Uint8Array([...got, ...chunk]);
  }
  assert.equal(new TextDecoder().decode(got.subarray(0, PREFACE.length)), PREFACE);
  return got.subarray(PREFACE.length);
}

/** A handshake, then the relay to `backend`; the client's line comes back behind the greeting. */
async function relayThrough(
  runtime: Runtime,
  accept: (c: ClientConnection, o: TlsAcceptOptions) => Promise<TlsAccepted>,
  context: TlsServerContext,
  certs: Certs,
  backend: Backend,
): Promise<void> {
  const { listener, next } = await acceptor(runtime);
  const client = tlsClient(listener.port, {
    servername: "localhost",
    ALPNProtocols: ["h2"],
    cert: certs.pem("client"),
    key: readFileSync(certs.key("client"), "utf8"),
  });
  try {
    const conn = await next();
    const early = await readPreface(conn);
    assert.ok(early.byteLength > 0, "the read took the ClientHello's start with the preface");
    const { connection, facts } = await accept(conn, { context, timeoutMs: 5000, early });
    assert.equal(facts.protocol, "TLSv1.3");
    assert.equal(facts.serverName, "localhost");
    assert.equal(facts.alpnProtocol, "h2");
    assert.equal(facts.sessionReused, false);
    assert.equal(facts.peerCert?.subject, "CN=client");
    assert.equal(facts.verifyError, null, "the CA signed the client's certificate");
    const { connection: upstream } = await tlsOf(runtime).connect(
      { host: "127.0.0.1", port: backend.port } as Parameters<Runtime["connect"]>[0],
      CONNECT,
      null,
    );
    const relayed = new Promise<RelayResult>((relayEnded) =>
      runtime.relay(connection, upstream as UpstreamConnection, RELAY, { relayEnded })
    );
    client.socket.write("ping over tls\n");
    assert.equal(await client.until("ping over tls\n"), `${backend.name}\nping over tls\n`);
    client.socket.end();
    const result = await relayed;
    assert.equal(result.end, "client_closed");
    assert.equal(result.bytesFromClient, "ping over tls\n".length, "plaintext bytes, counted after the handshake");
    assert.equal(result.bytesToClient, `${backend.name}\nping over tls\n`.length);
    await client.closed;
  } finally {
    client.socket.destroy();
    await listener.close();
  }
}

describe("TLS I/O: the ssl phase's handshake, its facts and the relay after it", () => {
  let runtime: Runtime;
  let certs: Certs;
  let backend: Backend;
  let context: TlsServerContext;
  before(async () => {
    runtime = await detectRuntime();
    certs = makeCerts();
    backend = await startNamedEcho("plain");
    context = tlsOf(runtime).serverContext({
      pairs: [{
        cert: certs.pem("localhost"),
        key: readFileSync(certs.key("localhost"), "utf8"),
        certPath: certs.cert("localhost"),
        keyPath: certs.key("localhost"),
      }],
      passwords: [],
      protocols: ["TLSv1.3"],
      ciphers: "HIGH:!aNULL:!MD5",
      preferServerCiphers: false,
      ecdhCurve: "auto",
      sessionTimeoutS: 300,
      sessionTickets: true,
      verifyClient: "optional",
      ca: certs.pem("ca"),
      crl: null,
      alpn: ["h2", "http/1.1"],
    });
  });
  after(() => backend.close());

  test("a handshake after a phase's read: the rest of that read goes first; facts; relay", async () => {
    await relayThrough(runtime, (c, o) => tlsOf(runtime).accept(c, o), context, certs, backend);
  });

  test("a stalled handshake times out and garbage fails, each ending its own connection", async () => {
    const { listener, next } = await acceptor(runtime);
    const connect = () => {
      const s = net.connect({ host: "127.0.0.1", port: listener.port });
      s.on("error", () => {});
      return { s, closed: new Promise<void>((r) => s.on("close", () => r())) };
    };
    // One at a time, so each accepted connection is the client it is taken for.
    const stalled = connect();
    const garbage = { s: null as net.Socket | null };
    try {
      await assert.rejects(
        tlsOf(runtime).accept(await next(), { context, timeoutMs: 200 }),
        (e: unknown) => e instanceof TlsHandshakeError && e.kind === "timeout",
      );
      await stalled.closed;
      const g = connect();
      garbage.s = g.s;
      g.s.write("GET / HTTP/1.0\r\n\r\n");
      await assert.rejects(
        tlsOf(runtime).accept(await next(), { context, timeoutMs: 5000 }),
        (e: unknown) => e instanceof TlsHandshakeError && e.kind === "failed" && e.message !== "",
      );
      // Deno's node:tls, in this process, leaves the socket open after a failed handshake it
      // took over (seen on Deno 2: the descriptor outlives destroy()); the CLI's sessions close.
      if (runtime.name !== "deno") await g.closed;
    } finally {
      stalled.s.destroy();
      garbage.s?.destroy();
      await listener.close();
    }
  });

  test("the setup's protocols hold: a TLS 1.2 client is refused by an ssl_protocols TLSv1.3 setup", async () => {
    const { listener, next } = await acceptor(runtime);
    const old = tls.connect({ host: "127.0.0.1", port: listener.port, rejectUnauthorized: false, maxVersion: "TLSv1.2" });
    let secured = false;
    old.on("secureConnect", () => (secured = true));
    old.on("error", () => {});
    try {
      await assert.rejects(
        tlsOf(runtime).accept(await next(), { context, timeoutMs: 5000 }),
        (e: unknown) => e instanceof TlsHandshakeError && e.kind === "failed",
      );
      assert.equal(secured, false);
    } finally {
      old.destroy();
      await listener.close();
    }
  });

  test("origination: SNI as asked, a client certificate, ALPN, a session reused, the chain's verdict", async () => {
    // A backend that answers with what its handshake saw.
    const seen: { servername: string | false; cn: string; alpn: string | false; reused: boolean }[] = [];
    const server = tls.createServer({
      cert: certs.pem("localhost"),
      key: readFileSync(certs.key("localhost"), "utf8"),
      ca: certs.pem("ca"),
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ["v1", "v2"],
    }, (s) => {
      const peer = s.getPeerCertificate();
      const cn = typeof peer?.subject?.CN === "string" ? peer.subject.CN : "";
      seen.push({
        servername: (s as unknown as { servername?: string | false | null }).servername || false,
        cn,
        alpn: s.alpnProtocol || false,
        reused: s.isSessionReused(),
      });
      s.on("error", () => {});
      s.end("hello\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    const base = {
      serverName: null,
      protocols: ["TLSv1.2", "TLSv1.3"] as const,
      ciphers: "DEFAULT",
      ca: certs.pem("ca"),
      crl: null,
      cert: null,
      sessionKey: null,
    };
    const origin = async (o: Partial<Parameters<TlsSupport["connect"]>[2] & object>) => {
      const { connection, facts } = await tlsOf(runtime).connect(
        { host: "127.0.0.1", port } as Parameters<Runtime["connect"]>[0],
        CONNECT,
        { ...base, ...o } as Parameters<TlsSupport["connect"]>[2],
      );
      let got = "";
      for (let chunk = await connection.read(2000); chunk !== null; chunk = await connection.read(2000)) {
        got += new TextDecoder().decode(chunk);
      }
      connection.close();
      return { got, facts: facts! };
    };
    try {
      const plain = await origin({});
      assert.equal(plain.got, "hello\n");
      assert.equal(plain.facts.verifyError, null, "the CA signed the backend's certificate");
      assert.equal(plain.facts.peerCert?.subject, "CN=localhost");
      assert.equal(plain.facts.protocol, "TLSv1.3");
      assert.deepEqual(seen.at(-1), { servername: false, cn: "", alpn: false, reused: false }, "no SNI, no certificate, no ALPN");

      const named = await origin({
        serverName: "backend.test",
        alpn: ["v2"],
        cert: { cert: certs.pem("client"), key: readFileSync(certs.key("client"), "utf8"), passwords: [] },
      });
      assert.equal(named.got, "hello\n");
      assert.deepEqual(seen.at(-1), { servername: "backend.test", cn: "client", alpn: "v2", reused: false });

      // proxy_ssl_session_reuse: the session of the first connection resumes on the next.
      // (Deno's node:tls client offers none: it does not resume, a gap of that runtime's own.)
      await origin({ sessionKey: "peer" });
      if (runtime.name !== "deno") {
        assert.equal((await origin({ sessionKey: "peer" })).facts.sessionReused, true);
        assert.equal(seen.at(-1)?.reused, true);
      }

      // Without the CA, the chain's verdict is the core's to judge: the handshake still ends.
      const untrusted = await origin({ ca: certs.pem("selfsigned") });
      assert.equal(untrusted.got, "hello\n");
      assert.notEqual(untrusted.facts.verifyError, null);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("on Bun: the handshake runs on the native socket, node:tls over it for what it cannot take", {
    skip: !isBun && "Bun only",
  }, async () => {
    // Imported only here (and untyped): other runtimes' type checks do not know Bun's types.
    type Connections = { BunConnection: abstract new (...args: never[]) => object };
    type Accepts = { acceptOverNodeTls(c: ClientConnection, o: TlsAcceptOptions): Promise<TlsAccepted> };
    const connection = (await import(`../../src/runtime/bun/connection${EXT}`)) as Connections;
    const bunTls = (await import(`../../src/runtime/bun/tls-accept${EXT}`)) as Accepts;
    // The common path stays native: the session's client is still a native connection.
    const kinds: boolean[] = [];
    await relayThrough(
      runtime,
      async (c, o) => {
        const accepted = await tlsOf(runtime).accept(c, o);
        kinds.push(accepted.connection instanceof connection.BunConnection);
        return accepted;
      },
      context,
      certs,
      backend,
    );
    assert.deepEqual(kinds, [true]);
    // And so does a TLS backend's (proxy_ssl).
    const server = tls.createServer({ cert: certs.pem("localhost"), key: readFileSync(certs.key("localhost"), "utf8") }, (s) => {
      s.on("error", () => {});
      s.end("hello\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { connection: backendSide } = await tlsOf(runtime).connect(
        { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port } as Parameters<Runtime["connect"]>[0],
        CONNECT,
        { serverName: null, protocols: ["TLSv1.3"], ciphers: "DEFAULT", ca: null, crl: null, cert: null, sessionKey: null },
      );
      assert.ok(backendSide instanceof connection.BunConnection);
      backendSide.close();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // node:tls over the native socket, relayed beside a native backend connection.
    await relayThrough(
      runtime,
      (c, o) => bunTls.acceptOverNodeTls(c, o),
      context,
      certs,
      backend,
    );
  });
});
