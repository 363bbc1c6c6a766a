// The foundation's promises, checked over real sockets against streamlb under Node, Deno,
// Bun and as the compiled binary: balancing order, integrity, backpressure, half-close,
// failover and idle timeout.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { type Backend, closedPort, firstLine, freePorts, startBackend, startNamedEcho } from "../support/backends.ts";
import { startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Sends `data` without closing and collects everything until the backend ends the stream. */
function exchange(port: number, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
    s.on("error", reject);
  });
}

for (const target of TARGETS) {
  describe(`streamlb on ${target}`, () => {
    const backends: Backend[] = [];
    let lb: Streamlb;
    let port: Record<string, number>;
    const bulk = randomBytes(64 * MiB);
    const bulkBack = randomBytes(64 * MiB);
    const received = new Map<string, string>();
    let deadPort = 0;

    before(async () => {
      const named = async (n: string) => {
        const b = await startNamedEcho(n);
        backends.push(b);
        return b.address;
      };
      const [a, b, c, x, y, live] = await Promise.all(["a", "b", "c", "x", "y", "live"].map(named));
      deadPort = await closedPort();

      // Integrity: sends its 64 MiB while receiving the client's, records what it got.
      const integrity = await startBackend("integrity", 0, (s) => {
        const hash = createHash("sha256");
        let n = 0;
        s.on("data", (d: Buffer) => {
          hash.update(d);
          n += d.length;
          // Everything arrived: say so and end; the proxy flushes our data before closing.
          if (n === bulk.length) {
            received.set("integrity", hash.digest("hex"));
            s.end("OK");
          }
        });
        s.write(bulkBack);
      });
      // Slow reader: takes 64 KiB every 20 ms for 2 s, then reads at full speed.
      const slow = await startBackend("slow", 0, (s) => {
        let n = 0;
        const hash = createHash("sha256");
        s.on("data", (d: Buffer) => {
          n += d.length;
          hash.update(d);
          if (n === 256 * MiB) {
            received.set("slow", hash.digest("hex"));
            s.end("done\n");
          }
        });
        s.pause();
        const started = Date.now();
        const drip = setInterval(() => {
          if (Date.now() - started > 2000) {
            clearInterval(drip);
            s.resume();
            return;
          }
          s.resume();
          setImmediate(() => s.pause());
        }, 20);
        s.on("close", () => clearInterval(drip));
      });
      // Replies only after the client's FIN: needs proxy_half_close on to be heard.
      const halfClose = await startBackend("half", 0, (s) => {
        let n = 0;
        s.on("data", (d: Buffer) => (n += d.length));
        s.on("end", () => {
          received.set("half", String(n));
          setTimeout(() => s.end(`got ${n}\n`), 200);
        });
      });
      backends.push(integrity, slow, halfClose);

      const names = ["wrr", "w12", "integrity", "slow", "halfon", "halfoff", "failover", "idle"];
      const ports = await freePorts(names.length);
      port = Object.fromEntries(names.map((n, i) => [n, ports[i]!]));
      const listen = (n: string) => `127.0.0.1:${port[n]}`;
      const config = writeConfig(`
error_log: { path: stderr, level: info }
stream:
  proxy_connect_timeout: 2s
  upstreams:
    wrr: { servers: [{ address: "${a}", weight: 5 }, "${b}", "${c}"] }
    w12: { servers: [{ address: "${x}", weight: 1 }, { address: "${y}", weight: 2 }] }
    failover:
      servers:
        - { address: "127.0.0.1:${deadPort}", max_fails: 1, fail_timeout: 2s }
        - { address: "${live}", max_fails: 1, fail_timeout: 2s }
  servers:
    - { listen: "${listen("wrr")}", proxy_pass: wrr }
    - { listen: "${listen("w12")}", proxy_pass: w12 }
    - { listen: "${listen("integrity")}", proxy_pass: "${integrity.address}" }
    - { listen: "${listen("slow")}", proxy_pass: "${slow.address}" }
    - { listen: "${listen("halfon")}", proxy_pass: "${halfClose.address}", proxy_half_close: on }
    - { listen: "${listen("halfoff")}", proxy_pass: "${halfClose.address}" }
    - { listen: "${listen("failover")}", proxy_pass: failover }
    - { listen: "${listen("idle")}", proxy_pass: "${a}", proxy_timeout: 500ms }
`);
      lb = await startStreamlb(target, config);
    });

    after(async () => {
      await lb?.stop();
      await Promise.all(backends.map((b) => b.close()));
    });

    test("weights 5,1,1: 14 connections in nginx's smooth order", async () => {
      const got: string[] = [];
      for (let i = 0; i < 14; i++) got.push(await firstLine(port["wrr"]!));
      assert.deepEqual(got, "a a b a c a a a a b a c a a".split(" "));
    });

    test("weights 1 and 2: 300 connections split 100/200", async () => {
      const counts = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        const n = await firstLine(port["w12"]!);
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(counts), { x: 100, y: 200 });
    });

    test("64 MiB each way at once arrives intact", async () => {
      received.delete("integrity");
      const back = await exchange(port["integrity"]!, bulk);
      assert.equal(back.length, bulkBack.length + 2);
      assert.equal(back.subarray(bulkBack.length).toString(), "OK");
      assert.equal(sha(back.subarray(0, bulkBack.length)), sha(bulkBack), "backend → client bytes differ");
      assert.equal(received.get("integrity"), sha(bulk), "client → backend bytes differ");
    });

    test("backpressure: 256 MiB into a slow reader keeps RSS growth under 64 MiB", async () => {
      received.delete("slow");
      const data = randomBytes(4 * MiB);
      const hash = createHash("sha256");
      for (let i = 0; i < 64; i++) hash.update(data);
      const expected = hash.digest("hex");
      const baseline = lb.rssBytes();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, lb.rssBytes())), 50);
      try {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect(port["slow"]!, "127.0.0.1");
          let i = 0;
          const pump = () => {
            while (i < 64) {
              i++;
              if (!s.write(data)) return void s.once("drain", pump);
            }
          };
          s.on("connect", pump);
          s.on("data", (d) => String(d).includes("done") && (s.destroy(), resolve()));
          s.on("error", reject);
        });
      } finally {
        clearInterval(sampler);
      }
      assert.equal(received.get("slow"), expected, "all 256 MiB arrived intact");
      const growth = peak - baseline;
      assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    });

    test("proxy_half_close on: a client that shuts its write side still gets the whole reply", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        let text = "";
        const s = net.connect(port["halfon"]!, "127.0.0.1", () => s.end("hello"));
        s.on("data", (d) => (text += d));
        s.on("end", () => resolve(text));
        s.on("error", reject);
      });
      assert.equal(reply, "got 5\n");
    });

    test("proxy_half_close off: the first EOF ends the session once its data is flushed", async () => {
      received.delete("half");
      const started = Date.now();
      const reply = await new Promise<string>((resolve, reject) => {
        let text = "";
        const s = net.connect({ port: port["halfoff"]!, host: "127.0.0.1", allowHalfOpen: true }, () => s.end("hello"));
        s.on("data", (d) => (text += d));
        s.on("end", () => resolve(text));
        s.on("error", reject);
      });
      assert.equal(reply, "", "the backend's late reply is not relayed");
      assert.ok(Date.now() - started < 1000);
      for (let i = 0; i < 50 && !received.has("half"); i++) await sleep(20);
      assert.equal(received.get("half"), "5", "the client's bytes were flushed before the close");
    });

    test("failover: a closed port is skipped, every connection succeeds, and the dead server rests for fail_timeout", async () => {
      const failures = () =>
        lb.log().split("\n").filter((l) =>
          l.includes(`connect() failed (111: Connection refused) while connecting to upstream`) &&
          l.includes(`upstream: "127.0.0.1:${deadPort}"`)
        ).length;
      for (let i = 0; i < 10; i++) assert.equal(await firstLine(port["failover"]!), "live");
      assert.equal(failures(), 1, "the dead server was tried once, then skipped");
      assert.match(lb.log(), /upstream server temporarily disabled while connecting to upstream/);
      // fail_timeout is 2s on nginx's whole-second clock: after 3s the next pick probes it again.
      await sleep(3100);
      for (let i = 0; i < 4; i++) assert.equal(await firstLine(port["failover"]!), "live");
      assert.equal(failures(), 2, "one probe after fail_timeout, then skipped again");
    });

    test("proxy_timeout closes an idle session, and traffic keeps one alive", async () => {
      const s = net.connect(port["idle"]!, "127.0.0.1");
      let closedAt = 0;
      const opened = Date.now();
      s.on("close", () => (closedAt = Date.now()));
      s.on("error", () => {});
      s.resume();
      // Traffic every 200 ms for 1.2 s: more than twice the timeout, yet the session lives.
      for (let i = 0; i < 6; i++) {
        s.write("ping\n");
        await sleep(200);
      }
      assert.equal(closedAt, 0, "an active session must not time out");
      const quietFrom = Date.now();
      for (let i = 0; i < 100 && !closedAt; i++) await sleep(20);
      assert.ok(closedAt > 0, "the idle session was closed");
      const idleFor = closedAt - quietFrom;
      assert.ok(idleFor >= 250 && idleFor < 1500, `closed after ${idleFor} ms idle (opened ${closedAt - opened} ms before)`);
    });
  });
}
