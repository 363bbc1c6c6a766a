// What the session phases need from the adapter this runner runs on (node --test, bun test,
// deno test), over real loopback and Unix-domain sockets: read()/write() before the relay,
// bytes for the upstream first, nginx's rate limits, unix: listen/connect, proxy_bind.
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ClientConnection,
  ConnectFailure,
  type ConnectOptions,
  type Listener,
  type ListenOptions,
  ReadFailure,
  type RelayOptions,
  type RelayResult,
  type Runtime,
  type UpstreamConnection,
} from "../../src/core/runtime.ts";
import { detectRuntime } from "../../src/runtime/detect.ts";

/** The relay's end as a promise, for a test to await. */
function relayed(
  runtime: Runtime,
  client: ClientConnection,
  upstream: UpstreamConnection,
  options: RelayOptions,
): Promise<RelayResult> {
  return new Promise((relayEnded) => runtime.relay(client, upstream, options, { relayEnded }));
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const CONNECT: ConnectOptions = { timeoutMs: 2000, noDelay: true, keepAlive: false };
const RELAY: RelayOptions = { idleTimeoutMs: 10_000, halfClose: false, bufferSize: 16384 };

/** A listener of the runtime under test whose accepted connections are taken one by one. */
async function acceptor(runtime: Runtime, options: Partial<ListenOptions> = {}) {
  const waiting: ClientConnection[] = [];
  const takers: ((c: ClientConnection) => void)[] = [];
  const listener: Listener = await runtime.listen(
    { host: "127.0.0.1", port: 0, noDelay: true, ...options },
    (c) => (takers.length ? takers.shift()!(c) : waiting.push(c)),
  );
  const next = () => new Promise<ClientConnection>((r) => (waiting.length ? r(waiting.shift()!) : takers.push(r)));
  return { listener, next };
}

/** A node:net client: what it receives, in arrival order with the time each chunk came. */
function client(to: { port: number } | { path: string }) {
  const socket = net.connect(
    "path" in to ? { path: to.path } : { host: "127.0.0.1", port: to.port },
  );
  const chunks: { at: number; data: Buffer }[] = [];
  socket.on("data", (d: Buffer) => chunks.push({ at: Date.now(), data: d }));
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  const received = () => Buffer.concat(chunks.map((c) => c.data));
  return { socket, chunks, closed, received };
}

/** A loopback (or unix:) backend that keeps what each connection sent and how it came. */
async function recorder(options: { path?: string; reply?: Uint8Array; onConnection?: (s: net.Socket) => void } = {}) {
  const sessions: { peer: string; chunks: { at: number; data: Buffer }[]; ended: Promise<void> }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    const chunks: { at: number; data: Buffer }[] = [];
    const ended = new Promise<void>((r) => s.on("end", () => (s.end(), r())));
    sessions.push({ peer: s.remoteAddress ?? "unix", chunks, ended });
    s.on("data", (d: Buffer) => chunks.push({ at: Date.now(), data: d }));
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    if (options.reply) s.end(options.reply);
    options.onConnection?.(s);
  });
  await new Promise<void>((r) => (options.path ? server.listen(options.path, r) : server.listen(0, "127.0.0.1", r)));
  const port = options.path ? 0 : (server.address() as net.AddressInfo).port;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return { port, sessions, close };
}

/**
 * nginx's budget lets at most rate·(whole seconds since the start + 1) bytes through; measured
 * from before the session started, a second more covers the clock's whole-second steps. Only an
 * upper bound: a slow machine delivers less, never more.
 */
function assertWithinBudget(chunks: { at: number; data: Buffer }[], startedAt: number, rate: number): void {
  let total = 0;
  for (const c of chunks) {
    total += c.data.byteLength;
    const seconds = Math.floor((c.at - startedAt) / 1000);
    assert.ok(total <= rate * (seconds + 2), `${total} bytes after ${c.at - startedAt} ms at ${rate} B/s`);
  }
}

/** Deterministic bytes, so a mix-up in order shows. */
function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = x = (x * 1103515245 + 12345) & 0xff;
  return out;
}

describe("phase I/O: Connection.read/write, relay options, unix sockets, proxy_bind", () => {
  let runtime: Runtime;
  let dir: string;
  before(async () => {
    runtime = await detectRuntime();
    dir = mkdtempSync(join(tmpdir(), "streamlb-phaseio-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("read(): one chunk, a timeout that loses nothing, EOF as null; write() reaches the client", async () => {
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      c.socket.write("hello");
      assert.equal(text((await conn.read(0))!), "hello");
      assert.equal(conn.bytesIn, 5);

      await assert.rejects(conn.read(100), (err: unknown) => err instanceof ReadFailure && err.kind === "timeout");
      // What arrives after a timed-out read waits for the next one.
      c.socket.write("late");
      assert.equal(text((await conn.read(2000))!), "late");
      assert.equal(conn.bytesIn, 9);

      await conn.write(bytes("reply"));
      assert.equal(conn.bytesOut, 5);
      c.socket.end();
      assert.equal(await conn.read(2000), null);
      while (c.received().byteLength < 5) await new Promise((r) => setTimeout(r, 5));
      assert.equal(c.received().toString(), "reply");
      conn.close();
      await c.closed;
    } finally {
      c.socket.destroy();
      await listener.close();
    }
  });

  test("bytes that come after a read timed out go to the relay", async () => {
    const backend = await recorder();
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      await assert.rejects(conn.read(50), (err: unknown) => err instanceof ReadFailure && err.kind === "timeout");
      const upstream = await runtime.connect({ host: "127.0.0.1", port: backend.port }, CONNECT);
      const done = relayed(runtime, conn, upstream, RELAY);
      c.socket.end("after the timeout");
      const result = await done;
      await backend.sessions[0]!.ended;
      assert.equal(Buffer.concat(backend.sessions[0]!.chunks.map((x) => x.data)).toString(), "after the timeout");
      assert.equal(result.bytesFromClient, 17);
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });

  test("upstreamFirst reaches the upstream before anything else, byte for byte, with backpressure", async () => {
    const backend = await recorder();
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      c.socket.write("early");
      const early = (await conn.read(2000))!;
      assert.equal(text(early), "early");
      // A header and the early data, large enough that the kernel cannot take it at once.
      const header = pattern(3 * 1024 * 1024);
      const first = new Uint8Array(header.byteLength + early.byteLength);
      first.set(header);
      first.set(early, header.byteLength);
      const upstream = await runtime.connect({ host: "127.0.0.1", port: backend.port }, CONNECT);
      const done = relayed(runtime, conn, upstream, { ...RELAY, upstreamFirst: first });
      c.socket.end("rest");
      const result = await done;
      await backend.sessions[0]!.ended;
      const got = Buffer.concat(backend.sessions[0]!.chunks.map((x) => x.data));
      assert.equal(got.byteLength, first.byteLength + 4);
      assert.ok(Buffer.from(first).equals(got.subarray(0, first.byteLength)), "the first bytes, unchanged and first");
      assert.equal(got.subarray(first.byteLength).toString(), "rest");
      assert.equal(result.bytesToUpstream, first.byteLength + 4);
      assert.equal(result.bytesFromClient, 5 + 4);
      assert.equal(result.end, "client_closed");
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });

  test("proxy_download_rate: the client gets no more than the budget allows, and all of it", async () => {
    const rate = 4000;
    const payload = pattern(3 * rate, 3);
    const backend = await recorder({ reply: payload });
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      const startedAt = Date.now();
      const upstream = await runtime.connect({ host: "127.0.0.1", port: backend.port }, CONNECT);
      const result = await relayed(runtime, conn, upstream, { ...RELAY, downloadRate: rate });
      await c.closed;
      assert.ok(Buffer.from(payload).equals(c.received()));
      assert.equal(result.bytesToClient, payload.byteLength);
      assert.equal(result.bytesFromUpstream, payload.byteLength);
      assertWithinBudget(c.chunks, startedAt, rate);
      // Paced: it came in more than one piece.
      assert.ok(c.chunks.length >= 2, `${c.chunks.length} chunks`);
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });

  test("proxy_upload_rate: paced into the upstream, and a pause longer than proxy_timeout is not idleness", async () => {
    const rate = 2000;
    const payload = pattern(3 * rate, 5);
    const backend = await recorder();
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      const startedAt = Date.now();
      const upstream = await runtime.connect({ host: "127.0.0.1", port: backend.port }, CONNECT);
      // Each read of `rate` bytes pauses reading for a second: far past the 300 ms timeout.
      const done = relayed(runtime, conn, upstream, { ...RELAY, idleTimeoutMs: 300, halfClose: true, uploadRate: rate });
      c.socket.end(payload);
      while (!backend.sessions[0]) await new Promise((r) => setTimeout(r, 5));
      await backend.sessions[0].ended;
      const got = backend.sessions[0].chunks;
      assert.ok(Buffer.from(payload).equals(Buffer.concat(got.map((x) => x.data))));
      assertWithinBudget(got, startedAt, rate);
      assert.ok(got.length >= 2, `${got.length} chunks`);
      const result = await done;
      assert.equal(result.bytesFromClient, payload.byteLength);
      assert.equal(result.bytesToUpstream, payload.byteLength);
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });

  test("unix: listen replaces a stale socket file; clients read as unix:, and connect/probe reach unix: servers", async () => {
    const path = join(dir, "lb.sock");
    // A stale socket file: bound once, moved aside before its server closed, moved back.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(join(dir, "old.sock"), r));
    renameSync(join(dir, "old.sock"), path);
    await new Promise<void>((r) => stale.close(() => r()));

    const { listener, next } = await acceptor(runtime, { host: null, unixPath: path });
    const backendPath = join(dir, "backend.sock");
    const backend = await recorder({ path: backendPath, reply: bytes("from backend") });
    const c = client({ path });
    try {
      const conn = await next();
      assert.equal(conn.remoteAddress, "unix:");
      assert.equal(conn.remotePort, 0);
      assert.equal(conn.localAddress, `unix:${path}`);
      c.socket.write("to backend");
      assert.equal(text((await conn.read(2000))!), "to backend");

      const upstream = await runtime.connect({ host: "", port: 0, unixPath: backendPath }, CONNECT);
      assert.equal(upstream.remoteAddress, `unix:${backendPath}`);
      const result = await relayed(runtime, conn, upstream, { ...RELAY, upstreamFirst: bytes("to backend") });
      await c.closed;
      assert.equal(c.received().toString(), "from backend");
      assert.equal(result.bytesToClient, 12);
      assert.equal(Buffer.concat(backend.sessions[0]!.chunks.map((x) => x.data)).toString(), "to backend");

      const probed = await runtime.probe({ host: "", port: 0, unixPath: backendPath }, {
        timeoutMs: 2000,
        send: null,
        maxBytes: 100,
        enough: () => false,
      });
      assert.equal(probed.kind === "ok" && text(probed.received), "from backend");
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });

  test("unix: a path another worker serves is left to it; alone, a live path is refused, not taken over", async () => {
    const path = join(dir, "shared.sock");
    const first = await recorder({ path, reply: bytes("first") });
    try {
      const second = await runtime.listen(
        { host: null, port: 0, noDelay: true, unixPath: path, reusePort: true },
        (c) => c.close(),
      );
      await second.close();
      const c = client({ path });
      await c.closed;
      assert.equal(c.received().toString(), "first");
      await assert.rejects(runtime.listen({ host: null, port: 0, noDelay: true, unixPath: path }, (c) => c.close()));
    } finally {
      await first.close();
    }
  });

  test("proxy_bind: the backend sees the bound address, bytes relay both ways; an address not on this host fails as bind()", async () => {
    const backend = await recorder({ reply: bytes("pong") });
    const { listener, next } = await acceptor(runtime);
    const c = client({ port: listener.port });
    try {
      const conn = await next();
      const bound = { ...CONNECT, localAddress: "127.0.0.2" };
      const upstream = await runtime.connect({ host: "127.0.0.1", port: backend.port }, bound);
      assert.equal(upstream.localAddress, "127.0.0.2");
      const result = await relayed(runtime, conn, upstream, { ...RELAY, upstreamFirst: bytes("ping") });
      await c.closed;
      assert.equal(c.received().toString(), "pong");
      assert.equal(backend.sessions[0]!.peer, "127.0.0.2");
      await backend.sessions[0]!.ended;
      assert.equal(Buffer.concat(backend.sessions[0]!.chunks.map((x) => x.data)).toString(), "ping");
      assert.equal(result.bytesToClient, 4);
      await assert.rejects(
        runtime.connect({ host: "127.0.0.1", port: backend.port }, { ...CONNECT, localAddress: "192.0.2.1" }),
        (err: unknown) => err instanceof ConnectFailure && err.message.startsWith("bind(192.0.2.1) failed"),
      );
    } finally {
      c.socket.destroy();
      await listener.close();
      await backend.close();
    }
  });
});
