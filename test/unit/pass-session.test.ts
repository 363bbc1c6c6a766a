// `pass` through the balancer, on an in-memory runtime (no sockets): the connection starts
// over on the listener the address names, keeps its number, PROXY facts and limit_conn slot,
// hands on bytes nginx would only have peeked at, and ends as nginx ends it when it cannot go.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Balancer } from "../../src/core/balancer.ts";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import type { Logger } from "../../src/core/log.ts";
import { MAX_PASSES, passDestination } from "../../src/core/pass-content.ts";
import { PassListeners } from "../../src/core/pass-listeners.ts";
import type { ClientConnection, ConnectOptions, RelayOptions, RelaySink, Runtime } from "../../src/core/runtime.ts";
import { FakeDatagrams, settle as settleUdp } from "../support/fake-datagrams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client socket: what it will send (one chunk per read, then EOF), what it was sent, whether it closed. */
class FakeClient {
  written = "";
  closed = false;
  bytesIn = 0;
  bytesOut = 0;
  readonly remotePort = 40000;
  constructor(
    readonly localAddress: string,
    readonly localPort: number,
    private readonly sends: string[],
    readonly remoteAddress = "127.0.0.1",
  ) {}
  read(): Promise<Uint8Array | null> {
    const next = this.sends.shift();
    return Promise.resolve(next === undefined ? null : encoder.encode(next));
  }
  write(data: Uint8Array): Promise<void> {
    this.written += decoder.decode(data);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

/** The runtime: listeners by address, upstream connects and relays recorded (a relay ends when told). */
function fakeRuntime() {
  const accept = new Map<string, (c: ClientConnection) => void>();
  const relays: { upstream: string; bind: string | undefined; first: string; end: () => void }[] = [];
  const runtime = {
    name: "node",
    version: "test",
    pid: 1,
    listen(options: { host?: string | null; port: number }, onConnection: (c: ClientConnection) => void) {
      accept.set(`${options.host ?? "0.0.0.0"}:${options.port}`, onConnection);
      return Promise.resolve({ host: options.host ?? "0.0.0.0", port: options.port, close: () => Promise.resolve() });
    },
    connect(target: { host: string; port: number }, options: ConnectOptions) {
      const bind = options.localAddress;
      return Promise.resolve({
        remoteAddress: target.host,
        remotePort: target.port,
        localAddress: "127.0.0.1",
        localPort: 1,
        bind,
        close() {},
      });
    },
    relay(
      _client: ClientConnection,
      upstream: { remotePort: number; bind: string | undefined },
      options: RelayOptions,
      sink: RelaySink,
    ) {
      const end = () =>
        sink.relayEnded({ end: "client_closed", bytesFromClient: 0, bytesToClient: 0, bytesFromUpstream: 0, bytesToUpstream: 0 });
      const first = decoder.decode(options.upstreamFirst ?? new Uint8Array());
      relays.push({ upstream: `127.0.0.1:${upstream.remotePort}`, bind: upstream.bind, first, end });
    },
  } as unknown as Runtime;
  /** A client connects to `address` and sends `sends`. */
  const connect = (address: string, sends: string[] = []) => {
    const [host, port] = address.split(":");
    const client = new FakeClient(host!, Number(port), sends);
    accept.get(address)!(client as unknown as ClientConnection);
    return client;
  };
  return { runtime, connect, relays };
}

async function started(streamBody: string) {
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
  const fake = fakeRuntime();
  const balancer = new Balancer(fake.runtime, logger);
  await balancer.apply(loadNginxConfig(`events {}\nstream {\n${streamBody}\n}\n`, "t.conf").config);
  return { ...fake, balancer, lines };
}

/** Lets every session run as far as it can without the outside world. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 0));
};

describe("pass through the balancer", () => {
  test("the connection starts over on the listener of the address, keeping its number", async () => {
    const t = await started(`
      map $server_port $next { 18001 127.0.0.1:18002; default 127.0.0.9:18003; }
      server { listen 127.0.0.1:18001; pass 127.0.0.1:18002; }
      server { listen 127.0.0.1:18002; pass $next; }
      server { listen 18003; return "$connection $server_addr $server_port"; }
    `);
    const client = t.connect("127.0.0.1:18001");
    await settle();
    // 18001 → 18002 (literal) → 127.0.0.9:18003 (from a variable, onto the wildcard listener).
    assert.equal(client.written, "1 127.0.0.9 18003");
    assert.ok(client.closed);
    const connected = t.lines.filter((l) => l.startsWith("[info] *1 client 127.0.0.1:40000 connected to"));
    assert.deepEqual(connected.map((l) => l.split(" ").pop()), ["127.0.0.1:18001", "127.0.0.1:18002", "0.0.0.0:18003"]);
    assert.equal(t.balancer.activeSessions, 0);
  });

  test("no listener for the address: nginx's error, and the session ends as served", async () => {
    const t = await started(`server { listen 127.0.0.1:18001; pass 127.0.0.1:18009; }`);
    const client = t.connect("127.0.0.1:18001");
    await settle();
    assert.ok(client.closed);
    assert.equal(client.written, "");
    assert.ok(t.lines.includes(
      `[error] *1 port not found for "127.0.0.1:18009" while passing connection to port, client: 127.0.0.1, server: 127.0.0.1:18001`,
    ));
  });

  test("a pass to itself ends at nginx's limit with `stream pass cycle`", async () => {
    const t = await started(`server { listen 127.0.0.1:18001; pass 127.0.0.1:18001; }`);
    const client = t.connect("127.0.0.1:18001");
    await settle();
    assert.ok(client.closed);
    // The accepted session and one per pass nginx allows; the next pass is refused.
    assert.equal(t.lines.filter((l) => l.includes("connected to 127.0.0.1:18001")).length, MAX_PASSES + 1);
    assert.equal(t.lines.filter((l) => l.includes("stream pass cycle while passing connection to port")).length, 1);
    assert.equal(t.balancer.activeSessions, 0);
  });

  test("a value that is no address ends the session with nginx's words", async () => {
    const t = await started(`server { listen 127.0.0.1:18001; pass $server_addr; }`);
    const client = t.connect("127.0.0.1:18001");
    await settle();
    assert.ok(client.closed);
    assert.ok(t.lines.some((l) => l.startsWith(`[error] *1 no port in pass "127.0.0.1" while passing connection to port`)));
  });

  test("PROXY facts and the bytes after the header go on; the next listener's proxy_pass sends them first", async () => {
    const t = await started(`
      server { listen 127.0.0.1:18001 proxy_protocol; pass 127.0.0.1:18002; }
      server { listen 127.0.0.1:18002; proxy_pass 127.0.0.1:19000; proxy_bind $proxy_protocol_addr; }
    `);
    t.connect("127.0.0.1:18001", ["PROXY TCP4 10.1.2.3 10.0.0.1 5555 80\r\nearly bytes"]);
    await settle();
    assert.equal(t.relays.length, 1);
    assert.equal(t.relays[0]!.upstream, "127.0.0.1:19000");
    assert.equal(t.relays[0]!.first, "early bytes");
    assert.equal(t.relays[0]!.bind, "10.1.2.3");
    t.relays[0]!.end();
  });

  test("the next listener reads its own PROXY header from the bytes handed on", async () => {
    const t = await started(`
      server { listen 127.0.0.1:18001; ssl_preread on; pass 127.0.0.1:18002; }
      server { listen 127.0.0.1:18002 proxy_protocol; return "$proxy_protocol_addr $remote_addr"; }
    `);
    // Not TLS: ssl_preread reads it and lets it be, as nginx's peek would.
    const client = t.connect("127.0.0.1:18001", ["PROXY TCP4 10.9.8.7 10.0.0.1 5555 80\r\n"]);
    await settle();
    assert.equal(client.written, "10.9.8.7 127.0.0.1");
  });

  test("a limit_conn slot is the connection's: held on the next listener until it closes", async () => {
    const t = await started(`
      limit_conn_zone $remote_addr zone=one:1m;
      server { listen 127.0.0.1:18001; limit_conn one 1; pass 127.0.0.1:18002; }
      server { listen 127.0.0.1:18002; proxy_pass 127.0.0.1:19000; }
    `);
    t.connect("127.0.0.1:18001");
    await settle();
    assert.equal(t.relays.length, 1);
    const second = t.connect("127.0.0.1:18001");
    await settle();
    assert.ok(second.closed);
    assert.equal(t.relays.length, 1, "the second connection is limited while the first lives on 18002");
    t.relays[0]!.end();
    await settle();
    t.connect("127.0.0.1:18001");
    await settle();
    assert.equal(t.relays.length, 2, "the slot came back when the passed connection closed");
    t.relays[1]!.end();
  });

  test("UDP cannot be passed", async () => {
    const fake = new FakeDatagrams();
    const lines: string[] = [];
    const logger: Logger = { enabled: () => true, log: (level, m) => lines.push(`[${level}] ${m}`) };
    const balancer = new Balancer(fake.runtime, logger);
    await balancer.apply(
      loadNginxConfig(`events {}\nstream { server { listen 127.0.0.1:5300 udp; pass 127.0.0.1:5301; } }`, "t.conf").config,
    );
    fake.deliver!(encoder.encode("q"), "127.0.0.1", 50001);
    await settleUdp();
    assert.ok(lines.some((l) => l.startsWith("[error] *1 cannot pass udp connection while passing connection to port")));
    assert.equal(fake.sockets.length, 0);
  });
});

describe("passDestination", () => {
  const listeners = new PassListeners([{ host: "127.0.0.1", port: 1, loc: { file: "t", line: 1, col: 1 } }]);
  const address = {
    family: "ipv4",
    bytes: new Uint8Array([127, 0, 0, 1]),
    port: 1,
    host: "127.0.0.1",
    name: "127.0.0.1:1",
  } as const;
  const session = () => {
    const logged: string[] = [];
    return { logged, variables: null as never, logClientError: (_: string, m: string) => void logged.push(m) };
  };

  test("bytes read off TLS cannot be handed on: 500", () => {
    const s = session();
    assert.equal(passDestination(s, { address, value: null, listeners }, 0, true), 500);
    assert.deepEqual(s.logged, ["cannot pass connection with preread data while passing connection to port"]);
  });

  test("the tenth pass goes, the eleventh is a cycle", () => {
    const s = session();
    assert.deepEqual(passDestination(s, { address, value: null, listeners }, MAX_PASSES - 1, false), {
      key: "127.0.0.1:1",
      name: "127.0.0.1:1",
      local: { addr: "127.0.0.1", port: 1 },
    });
    assert.equal(passDestination(s, { address, value: null, listeners }, MAX_PASSES, false), 500);
    assert.deepEqual(s.logged, ["stream pass cycle while passing connection to port"]);
  });
});
