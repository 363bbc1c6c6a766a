// The post-accept (PROXY protocol, realip) and preread (ssl_preread) phases against a scripted
// client: what the upstream gets first, byte for byte, what the session ends with, and the
// lines nginx logs. The client's reads come from a script; "timeout" stands for a read whose
// timer ran out, so nothing here waits on a clock.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPicker } from "../../src/core/balance/index.ts";
import type { ProxySettings } from "../../src/core/config/model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../../src/core/config/schema/proxy.ts";
import { DEFAULT_SERVER } from "../../src/core/config/schema/upstream-server.ts";
import { ConnectionBudget } from "../../src/core/connections.ts";
import type { Logger } from "../../src/core/log.ts";
import type { Phase } from "../../src/core/phases/phase.ts";
import { proxyProtocolPhase } from "../../src/core/phases/proxy-protocol-accept.ts";
import { realipPhase } from "../../src/core/phases/realip.ts";
import { sslPrereadPhase } from "../../src/core/phases/ssl-preread.ts";
import { type ClientConnection, ReadFailure, type RelayOptions, type RelaySink, type Runtime } from "../../src/core/runtime.ts";
import { type Route, Session } from "../../src/core/session.ts";
import { Upstream } from "../../src/core/upstream.ts";
import { alpnExtension, clientHelloMessage, records, sniExtension } from "../support/client-hello-bytes.ts";
import { ascii, concat, tlv, v2Header } from "../support/proxy-protocol-bytes.ts";

const loc = { file: "t", line: 1, col: 1 };
type Read = Uint8Array | "timeout" | "eof" | "reset";

interface Run {
  readonly session: Session;
  readonly status: number;
  /** What the upstream got before the relay: null when no upstream was connected. */
  readonly upstreamFirst: Uint8Array | null;
  readonly connected: boolean;
  readonly lines: readonly string[];
  /** The timeout each read was given. */
  readonly readTimeouts: readonly number[];
  readonly closed: boolean;
}

async function run(
  reads: readonly Read[],
  phases: readonly Phase[],
  options: { peer?: string; proxy?: Partial<ProxySettings> } = {},
): Promise<Run> {
  const lines: string[] = [];
  const readTimeouts: number[] = [];
  let next = 0;
  let closed = false;
  let connected = false;
  let upstreamFirst: Uint8Array | null = null;
  const client = {
    remoteAddress: options.peer ?? "127.0.0.1",
    remotePort: 40000,
    localAddress: "127.0.0.1",
    localPort: 8080,
    bytesIn: 0,
    bytesOut: 0,
    close: () => (closed = true),
    async read(timeoutMs: number) {
      readTimeouts.push(timeoutMs);
      const r = reads[next++] ?? "timeout";
      if (r === "timeout") throw new ReadFailure("timeout", "ETIMEDOUT", "timed out");
      if (r === "reset") throw new ReadFailure("error", "ECONNRESET", "reset");
      return r === "eof" ? null : r;
    },
    write: async () => undefined,
  } as unknown as ClientConnection;
  const runtime = {
    async connect() {
      connected = true;
      return { remoteAddress: "127.0.0.1", remotePort: 9000, localAddress: "127.0.0.1", localPort: 50000, close() {} };
    },
    relay(_c: unknown, _u: unknown, o: RelayOptions, sink: RelaySink) {
      upstreamFirst = o.upstreamFirst ?? new Uint8Array(0);
      // Later, as a real relay reports: the session must not need its end at once.
      queueMicrotask(() =>
        sink.relayEnded({ end: "client_closed", bytesFromClient: 0, bytesToClient: 0, bytesFromUpstream: 0, bytesToUpstream: 0 })
      );
    },
  } as unknown as Runtime;
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const upstream = new Upstream({
    name: "u",
    method: { kind: "round_robin" },
    servers: [{ ...DEFAULT_SERVER, address: "127.0.0.1:9000", host: "127.0.0.1", port: 9000, loc }],
    implicit: false,
    healthCheck: null,
    loc,
  });
  const route: Route = {
    server: {
      listen: [],
      proxyPass: "u",
      return: null,
      set: [],
      proxy: { ...DEFAULT_PROXY_SETTINGS, ...options.proxy },
      accessLog: [],
      access: [],
      loc,
    },
    target: { upstream, picker: createPicker({ kind: "round_robin" }) },
    listenName: "127.0.0.1:8080",
    phases,
  };
  const budget = new ConnectionBudget(logger, false);
  budget.configure(64, 1);
  const session = new Session(7, client, route, runtime, logger, budget);
  const outcome = await session.run();
  // Every session's first line is nginx's "client … connected to …": the phases' lines follow it.
  assert.match(lines[0] ?? "", /^\[info\] \*\d+ client 127\.0\.0\.1:40000 connected to 127\.0\.0\.1:8080$/);
  return { session, status: outcome.status, upstreamFirst, connected, lines: lines.slice(1), readTimeouts, closed };
}

const PP = proxyProtocolPhase(30_000);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder("latin1").decode(b));

describe("listen … proxy_protocol: reading the client's header", () => {
  test("v1: the header's addresses are kept, the bytes after it go to the upstream first", async () => {
    const r = await run([ascii("PROXY TCP4 192.0.2.1 192.0.2.2 1234 5678\r\nGET /\r\n")], [PP]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.session.proxyProtocol, {
      srcAddr: "192.0.2.1",
      srcPort: 1234,
      dstAddr: "192.0.2.2",
      dstPort: 5678,
      tlvs: null,
    });
    assert.equal(text(r.upstreamFirst), "GET /\r\n");
    // Without set_real_ip_from, $remote_addr stays the peer's.
    assert.equal(r.session.remoteAddress, "127.0.0.1");
    assert.deepEqual(r.readTimeouts, [30_000]);
  });

  test("v2 with TLVs: addresses and the TLV area are kept; a header alone leaves nothing for the upstream", async () => {
    const body = concat(
      Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x50),
      tlv(0x02, ascii("example.com")),
    );
    const r = await run([v2Header(0x21, 0x11, body)], [PP]);
    assert.equal(r.status, 200);
    assert.equal(r.session.proxyProtocol?.srcAddr, "10.0.0.1");
    assert.equal(r.session.proxyProtocol?.srcPort, 12345);
    assert.equal(r.session.proxyProtocol?.dstPort, 80);
    assert.equal(text(r.session.proxyProtocol!.tlvs), text(tlv(0x02, ascii("example.com"))));
    assert.equal(r.upstreamFirst!.length, 0);
  });

  test("PROXY UNKNOWN and v2 LOCAL are valid and carry no addresses", async () => {
    const unknown = await run([ascii("PROXY UNKNOWN\r\nxy")], [PP]);
    assert.equal(unknown.status, 200);
    assert.equal(unknown.session.proxyProtocol, null);
    assert.equal(text(unknown.upstreamFirst), "xy");
    const local = await run([v2Header(0x20, 0x00, new Uint8Array(0))], [PP]);
    assert.equal(local.status, 200);
    assert.equal(local.session.proxyProtocol, null);
  });

  test("a malformed header closes the connection with 400 and nginx's line; no upstream is tried", async () => {
    const r = await run([ascii("GET / HTTP/1.0\r\n\r\n")], [PP]);
    assert.equal(r.status, 400);
    assert.equal(r.connected, false);
    assert.ok(r.closed);
    assert.deepEqual(r.lines, [
      `[error] *7 broken header: "GET / HTTP/1.0" while reading PROXY protocol, client: 127.0.0.1, server: 127.0.0.1:8080`,
    ]);
  });

  test("a header split across reads is broken, as nginx judges its one peek", async () => {
    const r = await run([ascii("PROXY TCP4 1.2.3.4"), ascii(" 5.6.7.8 1 2\r\n")], [PP]);
    assert.equal(r.status, 400);
    assert.equal(r.connected, false);
    assert.match(r.lines[0]!, /broken header: "PROXY TCP4 1\.2\.3\.4" while reading PROXY protocol/);
  });

  test("an unknown v2 version is refused with its line", async () => {
    const r = await run([v2Header(0x31, 0x11, new Uint8Array(12))], [PP]);
    assert.equal(r.status, 400);
    assert.match(r.lines[0]!, /unknown PROXY protocol version: 3 while reading PROXY protocol/);
  });

  test("a slow header (proxy_protocol_timeout) ends with 200 and nginx's info line", async () => {
    const r = await run(["timeout"], [proxyProtocolPhase(1500)]);
    assert.equal(r.status, 200);
    assert.equal(r.connected, false);
    assert.deepEqual(r.readTimeouts, [1500]);
    assert.deepEqual(r.lines, [
      "[info] *7 client timed out (110: Connection timed out) while reading PROXY protocol, client: 127.0.0.1, server: 127.0.0.1:8080",
    ]);
  });

  test("EOF or a reset before the header: 200, nothing proxied", async () => {
    for (const read of ["eof", "reset"] as const) {
      const r = await run([read], [PP]);
      assert.equal(r.status, 200, read);
      assert.equal(r.connected, false, read);
    }
  });
});

describe("set_real_ip_from", () => {
  const header = ascii("PROXY TCP4 203.0.113.7 192.0.2.2 1111 80\r\n");

  test("a trusted peer's header becomes $remote_addr/$remote_port; the peer is kept for $realip_remote_*", async () => {
    const r = await run([header], [PP, realipPhase(["127.0.0.0/8"])!]);
    assert.equal(r.session.remoteAddress, "203.0.113.7");
    assert.equal(r.session.remotePort, 1111);
    assert.deepEqual(r.session.realip, { addr: "127.0.0.1", port: 40000 });
  });

  test("an untrusted peer keeps its own address", async () => {
    const r = await run([header], [PP, realipPhase(["10.0.0.0/8", "::1"])!]);
    assert.equal(r.session.remoteAddress, "127.0.0.1");
    assert.equal(r.session.realip, null);
  });

  test("a header without addresses changes nothing", async () => {
    const r = await run([ascii("PROXY UNKNOWN\r\n")], [PP, realipPhase(["127.0.0.1"])!]);
    assert.equal(r.session.remoteAddress, "127.0.0.1");
  });

  test("errors after realip name the client's real address, as nginx's addr_text does", async () => {
    const deny: Phase = { name: "access", run: (s) => (s.logClientError("error", "access forbidden by rule"), 403) };
    const r = await run([header], [PP, realipPhase(["127.0.0.1"])!, deny]);
    assert.equal(r.status, 403);
    assert.match(r.lines.at(-1)!, /client: 203\.0\.113\.7, server/);
  });
});

describe("proxy_protocol on|v2: the header for the upstream goes first", () => {
  test("v1 after realip: the client's real address and the local listen address, then the client's early bytes", async () => {
    const r = await run(
      [ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nhello")],
      [PP, realipPhase(["127.0.0.1"])!],
      { proxy: { proxyProtocol: "on" } },
    );
    assert.equal(text(r.upstreamFirst), "PROXY TCP4 1.2.3.4 127.0.0.1 1111 8080\r\nhello");
  });

  test("v2: signature, INET/STREAM, the addresses, and the CRC32C TLV last", async () => {
    const r = await run([], [], { proxy: { proxyProtocol: "v2" } });
    const h = r.upstreamFirst!;
    assert.deepEqual([...h.subarray(12, 14)], [0x21, 0x11]);
    assert.deepEqual([...h.subarray(16, 28)], [127, 0, 0, 1, 127, 0, 0, 1, 40000 >> 8, 40000 & 0xff, 8080 >> 8, 8080 & 0xff]);
    assert.equal(h[28], 0x03);
    assert.equal(h.length, 16 + 12 + 7);
  });

  test("off: nothing goes first", async () => {
    const r = await run([], []);
    assert.equal(r.upstreamFirst!.length, 0);
  });
});

describe("ssl_preread", () => {
  const hello = records(clientHelloMessage({ extensions: [sniExtension("Mixed.Example.COM"), alpnExtension("h2", "http/1.1")] }));
  const limits = { bufferSize: 16384, timeoutMs: 30_000 };

  test("a ClientHello across reads fills the variables; every byte read goes to the upstream first, as read", async () => {
    const parts = [hello.subarray(0, 3), hello.subarray(3, 40), hello.subarray(40)];
    const r = await run(parts, [sslPrereadPhase(limits)]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.session.preread, { serverName: "Mixed.Example.COM", alpnProtocols: "h2,http/1.1", protocol: "TLSv1.2" });
    assert.deepEqual([...r.upstreamFirst!], [...hello]);
    // One deadline for the whole phase: no read gets more than preread_timeout.
    assert.ok(r.readTimeouts.every((t) => t > 0 && t <= 30_000), String(r.readTimeouts));
  });

  test("data that is not TLS passes through untouched and leaves the variables not found", async () => {
    const r = await run([ascii("SSH-2.0-OpenSSH\r\n")], [sslPrereadPhase(limits)]);
    assert.equal(r.status, 200);
    assert.equal(r.session.preread, null);
    assert.equal(text(r.upstreamFirst), "SSH-2.0-OpenSSH\r\n");
  });

  test("PROXY header then preread: the upstream gets the header's trailing bytes and the hello in order", async () => {
    const pp = ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    const r = await run([concat(pp, hello.subarray(0, 10)), hello.subarray(10)], [PP, sslPrereadPhase(limits)]);
    assert.equal(r.session.preread?.serverName, "Mixed.Example.COM");
    // Preread starts from the bytes after the header, then reads the rest: the hello, once, in order.
    assert.deepEqual([...r.upstreamFirst!], [...hello]);
  });

  test("an oversized ClientHello: preread buffer full, 400, nginx's line, nothing proxied", async () => {
    const big = records(clientHelloMessage({ extensions: [sniExtension("a".repeat(200))] }));
    const r = await run([big], [sslPrereadPhase({ bufferSize: 64, timeoutMs: 30_000 })]);
    assert.equal(r.status, 400);
    assert.equal(r.connected, false);
    assert.deepEqual(r.lines, [
      "[error] *7 preread buffer full while prereading client data, client: 127.0.0.1, server: 127.0.0.1:8080",
    ]);
  });

  test("a truncated ClientHello then EOF: 200, nothing proxied, empty values", async () => {
    const r = await run([hello.subarray(0, 20), "eof"], [sslPrereadPhase(limits)]);
    assert.equal(r.status, 200);
    assert.equal(r.connected, false);
    assert.deepEqual(r.session.preread, { serverName: "", alpnProtocols: "", protocol: "" });
  });

  test("slowloris: a byte at a time until preread_timeout ends it with 200, silently", async () => {
    const drip = [...hello.subarray(0, 30)].map((b) => Uint8Array.of(b));
    const r = await run([...drip, "timeout"], [sslPrereadPhase(limits)]);
    assert.equal(r.status, 200);
    assert.equal(r.connected, false);
    assert.deepEqual(r.lines, []);
    assert.equal(r.readTimeouts.length, 31);
    assert.ok(r.readTimeouts.every((t) => t <= 30_000));
  });
});
