// NGINX Plus's `health_check udp` over real loopback sockets, on Node, Deno, Bun and the
// binary: a match's send goes out and its expect judges the reply, so a dead server is taken
// out and comes back when it answers again; without a match, a server that never answers but
// draws no ICMP port unreachable stays in, and one that does is taken out. Deno reports no
// ICMP errors, so there the check without a match is refused at start, with the reason.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runStreamlb, startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";
import { closedUdpPort, freeUdpPorts, startNamedUdp, startUdpSink, type UdpBackend, udpClient } from "../support/udp.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backends {
  readonly a: UdpBackend;
  readonly sink: UdpBackend;
  /** Nothing listens on them: datagrams there draw an ICMP port unreachable. */
  readonly dead: number;
  readonly deadToo: number;
}

const matched = (b: Backends, port: number) => `
    match named { send "hc\\x00"; expect ~ "^[ab] "; }
    upstream matched { server ${b.a.address}; server 127.0.0.1:${b.dead}; }
    server {
        listen 127.0.0.1:${port} udp;
        proxy_pass matched;
        proxy_responses 1;
        proxy_timeout 1s;
        health_check udp interval=200ms match=named;
        health_check_timeout 300ms;
    }`;

const silent = (b: Backends, port: number) => `
    upstream silent { server ${b.sink.address}; server 127.0.0.1:${b.deadToo}; }
    server {
        listen 127.0.0.1:${port} udp;
        proxy_pass silent;
        proxy_responses 0;
        health_check udp interval=200ms;
        health_check_timeout 300ms;
    }`;

const conf = (...servers: string[]) => `
error_log stderr info;
events { worker_connections 256; }
stream {${servers.join("\n")}
}
`;

const b = {} as { value: Backends };
before(async () => {
  b.value = {
    a: await startNamedUdp("a"),
    sink: await startUdpSink(),
    dead: await closedUdpPort(),
    deadToo: await closedUdpPort(),
  };
});
after(async () => {
  await Promise.all([b.value.a.close(), b.value.sink.close()]);
});

for (const target of TARGETS) {
  describe(`health_check udp on ${target}`, () => {
    const icmp = target !== "deno";
    let lb: Streamlb;
    let ports: number[];

    before(async () => {
      ports = await freeUdpPorts(2);
      const servers = [matched(b.value, ports[0]!), ...(icmp ? [silent(b.value, ports[1]!)] : [])];
      lb = await startStreamlb(target, writeConfig(conf(...servers), "nginx.conf"));
    });
    after(() => lb.stop());

    test("a match: its send goes out, a server that gives no matching reply is down, sessions skip it, and it comes back", async () => {
      const { a, dead } = b.value;
      const why = icmp
        ? `recv\\(\\) failed \\(111: Connection refused\\)`
        : `timed out \\(110: Connection timed out\\) waiting for a reply`;
      await lb.waitForLog(new RegExp(`server 127\\.0\\.0\\.1:${dead} of upstream matched is down: ${why}`), 5000);
      assert.ok(a.received.some((m) => m.equals(Buffer.from("hc\x00"))), "the match's send reached the server");
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await udpClient(ports[0]!);
        answers.push((await c.request("q", 1500))?.toString().split(" ")[0] ?? "none");
        await c.close();
      }
      assert.deepEqual(answers, ["a", "a", "a", "a", "a", "a"], "every session to the server that is up");
      // The dead server's port answers again, as a server that matches.
      const back = await startNamedUdp("b", dead);
      try {
        await lb.waitForLog(new RegExp(`server 127\\.0\\.0\\.1:${dead} of upstream matched is up`), 5000);
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const c = await udpClient(ports[0]!);
          seen.add((await c.request("q", 1500))?.toString().split(" ")[0] ?? "none");
          await c.close();
        }
        assert.deepEqual([...seen].sort(), ["a", "b"], "round robin uses both again");
      } finally {
        await back.close();
      }
    });

    test(
      icmp
        ? "no match: silence is healthy, an ICMP port unreachable is not"
        : "no match: refused at start on Deno, which sees no ICMP errors",
      async () => {
        const { sink, deadToo } = b.value;
        if (!icmp) {
          const file = writeConfig(conf(silent(b.value, ports[1]!)), "nginx.conf");
          const run = await runStreamlb(target, ["-c", file], 20_000);
          assert.notEqual(run.code, 0);
          assert.match(
            run.stderr,
            /"health_check udp" of upstream "silent" needs a match with "expect" on deno: it reports no ICMP port unreachable/,
          );
          return;
        }
        await lb.waitForLog(new RegExp(`server 127\\.0\\.0\\.1:${deadToo} of upstream silent is down: recv\\(\\) failed`), 5000);
        const probed = () => sink.received.some((m) => m.toString() === "nginx health check");
        for (let i = 0; i < 100 && !probed(); i++) await sleep(20);
        assert.ok(probed(), "Plus's probe string went out");
        assert.doesNotMatch(lb.log(), new RegExp(`${sink.address.replace(/\./g, "\\.")} of upstream silent is down`));
        const logs = () => sink.received.filter((m) => m.toString().startsWith(`log ${target} `)).length;
        const c = await udpClient(ports[1]!);
        for (let i = 0; i < 10; i++) {
          c.send(`log ${target} ${i}`);
          await sleep(5);
        }
        for (let i = 0; i < 100 && logs() < 10; i++) await sleep(20);
        await c.close();
        assert.equal(logs(), 10, "every datagram to the silent server");
      },
    );
  });
}
