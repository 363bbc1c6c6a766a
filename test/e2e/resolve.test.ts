// `server NAME resolve` and `service=` against a DNS server the test runs on loopback, on
// every target: the answer changes and traffic follows at the next lookup (TTL 1 s + 1 s)
// with no reload and no failed session, live sessions to the address that went away go on,
// and SRV weights split the sessions as round robin says. Every wait is bounded.
import assert from "node:assert/strict";
import net from "node:net";
import { after, describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { type DnsServer, startDnsServer } from "../support/dns-server.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";
import { Stream } from "../support/streams.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An echo backend greeting with its name, on a chosen loopback address and port. */
function echoOn(name: string, host: string, port: number): Promise<Backend & { close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    s.write(`${name}\n`);
    s.pipe(s);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () =>
      resolve({
        name,
        port,
        address: `${host}:${port}`,
        accepted: 0,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }));
  });
}

/** Sessions until one reaches `want`, at most `tries` of them; every one must reach a backend. */
async function until(port: number, want: string, tries: number): Promise<{ seen: string[]; failures: number }> {
  const seen: string[] = [];
  let failures = 0;
  for (let i = 0; i < tries; i++) {
    try {
      const name = await firstLine(port);
      seen.push(name);
      if (name === want) break;
    } catch {
      failures++;
    }
    await sleep(100);
  }
  return { seen, failures };
}

describe("resolve: servers follow DNS without a reload", () => {
  let dns: DnsServer;
  const backends: { close(): Promise<void> }[] = [];
  const running: Streamlb[] = [];
  after(async () => {
    for (const s of running) await s.stop();
    for (const b of backends) await b.close();
    await dns?.close();
  });

  for (const target of TARGETS) {
    test(`${target}: an A record that changes moves new sessions; the live one stays; no session fails`, async () => {
      dns ??= await startDnsServer();
      const [port, listenPort] = await freePorts(2);
      const b2 = await echoOn("b2", "127.0.0.2", port!);
      const b3 = await echoOn("b3", "127.0.0.3", port!);
      backends.push(b2, b3);
      const name = `${target}.be.test`;
      dns.zone.set(name, { a: ["127.0.0.2"], ttl: 1 });
      const config = writeConfig(`error_log: { path: stderr, level: notice }
stream:
  resolver: { addresses: ["127.0.0.1:${dns.port}"], ipv6: false }
  resolver_timeout: 2s
  upstreams:
    u:
      zone: { name: z, size: 64k }
      servers: [{ address: "${name}:${port}", resolve: true }]
  servers: [{ listen: "127.0.0.1:${listenPort}", proxy_pass: u }]
`);
      const lb = await startStreamlb(target, config);
      running.push(lb);
      const listen = lb.ports[0]!;
      // Resolved about 1 ms after start; a session before that finds no server.
      const first = await until(listen, "b2", 50);
      assert.equal(first.seen.at(-1), "b2", lb.log());
      const live = await new Stream(listen).start(256, 20);
      assert.equal(live.backend, "b2");

      dns.zone.set(name, { a: ["127.0.0.3"], ttl: 1 });
      // The next lookup is due within TTL + 1 s; 60 sessions 100 ms apart are far more.
      const moved = await until(listen, "b3", 60);
      assert.equal(moved.seen.at(-1), "b3", `sessions saw ${moved.seen.join(" ")}\n${lb.log()}`);
      assert.equal(moved.failures, 0, "no session failed while the name moved");
      for (let i = 0; i < 5; i++) assert.equal(await firstLine(listen), "b3");

      // The session to the address that went away was never cut.
      await live.finish();
      assert.ok(live.intact(), `live session: sent ${live.sent}, echoed ${live.echoed}`);
      assert.doesNotMatch(lb.log(), /reconfigured|could not be resolved/);
      assert.ok(dns.asked.filter((q) => q === `${name} 1`).length >= 2, "asked again, over the loopback DNS");
    });

    test(`${target}: proxy_pass $var with a host name asks the stream{} resolver`, async () => {
      dns ??= await startDnsServer();
      const backend = await startNamedEcho("var");
      backends.push(backend);
      const [listenPort, otherPort] = await freePorts(2);
      const host = `${target}.var.test`;
      dns.zone.set(host, { a: ["127.0.0.1"], ttl: 60 });
      const config = writeConfig(
        `error_log stderr notice;
events {}
stream {
    resolver 127.0.0.1:${dns.port} ipv6=off;
    server {
        listen 127.0.0.1:${listenPort};
        set $backend ${host}:${backend.port};
        proxy_pass $backend;
    }
    server {
        listen 127.0.0.1:${otherPort};
        set $backend nowhere.var.test:${backend.port};
        proxy_pass $backend;
    }
}
`,
        "nginx.conf",
      );
      const lb = await startStreamlb(target, config);
      running.push(lb);
      for (let i = 0; i < 3; i++) assert.equal(await firstLine(lb.ports[0]!), "var");
      assert.equal(dns.asked.filter((q) => q === `${host} 1`).length, 1, "one question, then the cached answer");
      await assert.rejects(firstLine(lb.ports[1]!));
      await lb.waitForLog(/nowhere\.var\.test could not be resolved \(3: Host not found\)/);
      await lb.stop();
    });

    test(`${target}: service= turns SRV records into servers with their ports and weights`, async () => {
      dns ??= await startDnsServer();
      const heavy = await startNamedEcho("heavy");
      const light = await startNamedEcho("light");
      backends.push(heavy, light);
      const host = `${target}.srv.test`;
      const [listenPort] = await freePorts(1);
      dns.zone.set(`_app._tcp.${host}`, {
        srv: [
          { priority: 1, weight: 3, port: heavy.port, target: `a.${host}` },
          { priority: 1, weight: 1, port: light.port, target: `a.${host}` },
        ],
        ttl: 60,
      });
      dns.zone.set(`a.${host}`, { a: ["127.0.0.1"], ttl: 60 });
      const config = writeConfig(`error_log: { path: stderr, level: notice }
stream:
  resolver: "127.0.0.1:${dns.port}"
  upstreams:
    u:
      zone: z
      servers: [{ address: "${host}", resolve: true, service: app }]
    sizer:
      zone: { name: z, size: 64k }
      servers: ["127.0.0.1:9"]
  servers: [{ listen: "127.0.0.1:${listenPort}", proxy_pass: u }]
`);
      const lb = await startStreamlb(target, config);
      running.push(lb);
      const listen = lb.ports[0]!;
      const first = await until(listen, "heavy", 50);
      assert.ok(first.seen.length > 0, lb.log());
      // Smooth weighted round robin repeats every 4 picks: any 40 in a row are 30 and 10.
      const counts = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const n = await firstLine(listen);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(counts), { heavy: 30, light: 10 });
      await lb.stop();
    });
  }
});
