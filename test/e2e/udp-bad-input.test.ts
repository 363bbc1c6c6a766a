// Bad input over UDP, on Node, Deno, Bun and the binary: zero-length datagrams are proxied
// both ways, as nginx proxies them; a flood from 10,000 client address:ports is held to
// worker_connections with nginx's [alert] (every datagram either starts a session or is
// counted as dropped) and service resumes once the sessions end; a backend that never
// answers ends each session at proxy_timeout. The flood's RSS growth is printed.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, test } from "node:test";
import { freePorts } from "../support/backends.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";
import { freeUdpPorts, startUdpEcho, startUdpSink, type UdpBackend, udpClient } from "../support/udp.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WORKER_CONNECTIONS = 64;
const CLIENTS = 10_000;
const BATCH = 250;

interface UdpListenerStatus {
  readonly protocol: string;
  readonly address: string;
  readonly datagrams_dropped: number;
  readonly connections: { readonly total: number; readonly active: number };
}

const backends = {} as { echo: UdpBackend; sink: UdpBackend };
before(async () => {
  backends.echo = await startUdpEcho();
  backends.sink = await startUdpSink();
});
after(async () => {
  await Promise.all([backends.echo.close(), backends.sink.close()]);
});

/** One datagram from each of `count` sockets bound to 127.3.B.N (a distinct client each). */
async function batch(first: number, count: number, port: number): Promise<void> {
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const n = first + i;
      const s = dgram.createSocket("udp4");
      return new Promise<dgram.Socket>((resolve) => s.bind(0, `127.3.${Math.floor(n / 250)}.${1 + (n % 250)}`, () => resolve(s)));
    }),
  );
  await Promise.all(
    sockets.map((s) => new Promise<void>((resolve) => s.send(Buffer.from("flood"), port, "127.0.0.1", () => resolve()))),
  );
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}

for (const target of TARGETS) {
  describe(`UDP bad input on ${target}`, () => {
    let lb: Streamlb;
    let ports: number[];
    let admin: number;

    const listener = async (port: number): Promise<UdpListenerStatus> => {
      const res = await fetch(`http://127.0.0.1:${admin}/status`);
      const body = (await res.json()) as { listeners: UdpListenerStatus[] };
      return body.listeners.find((l) => l.protocol === "udp" && l.address.endsWith(`:${port}`))!;
    };

    before(async () => {
      ports = await freeUdpPorts(2);
      admin = (await freePorts(1))[0]!;
      const conf = `
admin 127.0.0.1:${admin};
error_log stderr info;
events { worker_connections ${WORKER_CONNECTIONS}; }
stream {
    server { listen 127.0.0.1:${ports[0]} udp; proxy_pass ${backends.echo.address}; proxy_responses 1; proxy_timeout 2s; }
    server { listen 127.0.0.1:${ports[1]} udp; proxy_pass ${backends.sink.address}; proxy_timeout 1s; }
}
`;
      lb = await startStreamlb(target, writeConfig(conf, "nginx.conf"));
    });
    after(() => lb.stop());

    test("zero-length datagrams are proxied both ways", async () => {
      const before = backends.echo.received.length;
      const c = await udpClient(ports[0]!);
      const reply = await c.request(Buffer.alloc(0), 3000);
      await c.close();
      assert.ok(reply !== null, "an answer came back");
      assert.equal(reply.length, 0);
      assert.deepEqual(backends.echo.received.slice(before).map((m) => m.length), [0]);
    });

    test("a flood from 10,000 clients: sessions held to worker_connections with the alert, every datagram counted, service resumes", async (t) => {
      const { sink } = backends;
      const port = ports[1]!;
      const rssBefore = lb.rssBytes();
      const sinkBefore = sink.received.length;
      let maxActive = 0;
      let rssPeak = rssBefore;
      for (let first = 0; first < CLIENTS; first += BATCH) {
        await batch(first, BATCH, port);
        if (first % (BATCH * 8) === 0) {
          maxActive = Math.max(maxActive, (await listener(port)).connections.active);
          rssPeak = Math.max(rssPeak, lb.rssBytes());
        }
      }
      await lb.waitForLog(
        new RegExp(`\\[alert\\] \\d+#\\d+: ${WORKER_CONNECTIONS} worker_connections are not enough$`, "m"),
        5000,
      );
      // A never-answering backend: every session ends at proxy_timeout, so all of them end.
      let status = await listener(port);
      let seen = -1;
      for (
        let i = 0;
        i < 100 && (status.connections.active > 0 || seen !== status.connections.total + status.datagrams_dropped);
        i++
      ) {
        seen = status.connections.total + status.datagrams_dropped;
        await sleep(100);
        status = await listener(port);
      }
      rssPeak = Math.max(rssPeak, lb.rssBytes());
      assert.equal(status.connections.active, 0, "every session ended at proxy_timeout");
      // Every datagram that reached the socket started a session or was counted as dropped;
      // the kernel may drop more before that when the balancer reads slower than the flood comes.
      const unread = CLIENTS - status.connections.total - status.datagrams_dropped;
      assert.ok(unread >= 0 && unread < CLIENTS / 10, `${unread} never read`);
      assert.ok(status.datagrams_dropped > 0, "the flood was cut");
      // Two sockets a session (the client's and its upstream), and the listeners hold some.
      assert.ok(maxActive <= WORKER_CONNECTIONS / 2, `at most ${WORKER_CONNECTIONS / 2} sessions at once, saw ${maxActive}`);
      const forwarded = () => sink.received.slice(sinkBefore).filter((m) => m.toString() === "flood").length;
      for (let i = 0; i < 50 && forwarded() < status.connections.total; i++) await sleep(20);
      assert.equal(forwarded(), status.connections.total, "each session's datagram reached the backend");
      await lb.waitForLog(/udp timed out, packets from\/to client:1\/0/, 3000);
      // Service resumes: a new client gets through.
      const c = await udpClient(port, "127.4.0.1");
      c.send("after");
      for (let i = 0; i < 100 && !sink.received.some((m) => m.toString() === "after"); i++) await sleep(20);
      await c.close();
      assert.ok(sink.received.some((m) => m.toString() === "after"), "a client after the flood is served");
      const mb = (n: number) => (n / 1048576).toFixed(1);
      t.diagnostic(
        `${target}: RSS ${mb(rssBefore)} MB before, ${mb(rssPeak)} MB peak (+${mb(rssPeak - rssBefore)} MB); ` +
          `${status.connections.total} sessions, ${status.datagrams_dropped} dropped, ${unread} dropped by the kernel, ` +
          `at most ${maxActive} at once`,
      );
      assert.ok(rssPeak - rssBefore < 128 * 1048576, `RSS grew by ${mb(rssPeak - rssBefore)} MB`);
    });
  });
}
