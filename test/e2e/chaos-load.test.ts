// Chaos, part 2: reloads in a storm, a worker killed under load, and the admin endpoint hit
// by a slowloris and a 10 MB body, on every target. Hash-checked streams that should
// survive must lose no byte; the process lives; memory stays bounded.
//
// Scaled to the suite's budget: the issue's "100 reloads in 60 s under 1,000 connects + 50
// streams" runs as 100 reloads back to back (each waits for its "reconfigured" line, a few
// seconds in all) under 1,000 sequential connects and 50 streams. `npm run soak` (SOAK=1) runs
// it at full scale: the 100 reloads spread over 60 s.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startBackend, startNamedEcho } from "../support/backends.ts";
import { shortSessions, Stream } from "../support/streams.ts";
import { alive, startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
const SOAK = process.env["SOAK"] === "1";

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

/** Sends raw bytes to an HTTP port; resolves with what came back and how long the connection lived. */
function raw(
  port: number,
  write: (s: net.Socket) => void,
  limitMs: number,
): Promise<{ text: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const at = Date.now();
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("error", () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closedAfterMs: null });
    }, limitMs);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - at });
    });
    s.on("connect", () => write(s));
  });
}

for (const target of TARGETS) {
  describe(`chaos: load on ${target}`, () => {
    test("100 reloads under 1,000 connects and 50 streams: nothing refused or lost", async () => {
      const backends: Backend[] = await Promise.all(["a", "b", "c"].map((n) => startNamedEcho(n)));
      const [a, b, c] = backends as [Backend, Backend, Backend];
      const [port] = await freePorts(1);
      const config = (servers: Backend[]) =>
        `error_log: { path: stderr, level: notice }\nstream:\n  upstreams:\n    u:\n      servers: [${
          servers.map((s) => `"${s.address}"`).join(", ")
        }]\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: u }\n`;
      const file = writeConfig(config([a, b, c]));
      const lb = await startStreamlb(target, file);
      try {
        const streams = await Promise.all(Array.from({ length: 50 }, () => new Stream(port!).start(512, 40)));
        const rssStart = lb.rssBytes();
        let reloading = true;
        // Spread the connects over the storm; after it, go flat out.
        const connects = shortSessions(port!, 1000, (i) => (reloading && i % 10 === 9 ? sleep(SOAK ? 500 : 5) : undefined));
        const startedAt = Date.now();
        for (let i = 0; i < 100; i++) {
          writeFileSync(file, config(i % 2 === 0 ? [a, b] : [a, b, c]));
          const before = count(lb.log(), /reconfigured/g);
          lb.signal("SIGHUP");
          for (let w = 0; w < 500 && count(lb.log(), /reconfigured/g) === before; w++) await sleep(5);
          if (SOAK) await sleep(Math.max(0, startedAt + (i + 1) * 600 - Date.now()));
        }
        reloading = false;
        const stormMs = Date.now() - startedAt;
        const { done, failures } = await connects;
        await Promise.all(streams.map((s) => s.finish()));
        assert.equal(count(lb.log(), /reconfigured/g), 100);
        assert.equal(done, 1000);
        assert.equal(failures, 0, "no refused or reset connect");
        for (const s of streams) {
          assert.ok(s.intact(), `stream on ${s.backend}: sent ${s.sent}, echoed ${s.echoed}, error ${s.error?.message}`);
        }
        assert.ok(alive(lb.pid));
        const rssEnd = lb.rssBytes();
        assert.ok(rssEnd - rssStart < 128 * MB, `RSS grew by ${((rssEnd - rssStart) / MB).toFixed(1)} MB over 100 reloads`);
        console.log(
          `# ${target}: 100 reloads in ${stormMs} ms; RSS ${(rssStart / MB).toFixed(1)} → ${(rssEnd / MB).toFixed(1)} MB`,
        );
      } finally {
        await lb.stop();
        await Promise.all(backends.map((x) => x.close()));
      }
    });

    test("SIGKILL of a worker under load: the master replaces it, the other worker's streams lose nothing", async () => {
      // Greets with the balancer's source port, so each stream can be tied to the worker serving it.
      const echo = await startBackend("echo", 0, (s) => {
        s.write(`${s.remotePort}\n`);
        s.pipe(s);
      });
      const [port] = await freePorts(1);
      const dir = tempDir();
      const file = join(dir, "nginx.conf");
      writeFileSync(
        file,
        `worker_processes 2;\npid ${
          join(dir, "streamlb.pid")
        };\nerror_log stderr info;\nevents {}\nstream {\n    server {\n        listen 127.0.0.1:${port};\n        proxy_pass ${echo.address};\n    }\n}\n`,
      );
      const lb = await startStreamlb(target, file);
      const workers = new Set<number>();
      const listening = () => [...lb.log().matchAll(/\] (\d+)#0: streamlb\/\S+ on .* listening on/g)].map((m) => Number(m[1]));
      try {
        for (let i = 0; i < 500 && listening().length < 2; i++) await sleep(20);
        for (const p of listening()) workers.add(p);
        assert.equal(workers.size, 2);
        let streams: Stream[] = [];
        const ownerOf = (s: Stream) =>
          Number(new RegExp(`\\] (\\d+)#0: \\*\\d+ proxy 127\\.0\\.0\\.1:${s.backend} connected to`).exec(lb.log())?.[1]);
        // Until both workers hold some streams (the kernel spreads connections between them).
        for (let round = 0; round < 5; round++) {
          streams.push(...(await Promise.all(Array.from({ length: 20 }, () => new Stream(port!).start(512, 20)))));
          await sleep(100);
          if (new Set(streams.map(ownerOf)).size === 2) break;
        }
        const [victim, survivor] = [...workers] as [number, number];
        const onVictim = streams.filter((s) => ownerOf(s) === victim);
        const onSurvivor = streams.filter((s) => ownerOf(s) === survivor);
        assert.ok(
          onVictim.length > 0 && onSurvivor.length > 0,
          `streams on both workers: ${onVictim.length}/${onSurvivor.length}`,
        );
        const rssMaster = lb.rssBytes();
        process.kill(victim, "SIGKILL");
        for (let i = 0; i < 500 && listening().length < 3; i++) await sleep(20);
        const replacement = listening()[2];
        assert.ok(replacement && alive(replacement), "the master started a new worker");
        workers.add(replacement);
        for (let i = 0; i < 100 && onVictim.some((s) => !s.closed); i++) await sleep(20);
        assert.ok(onVictim.every((s) => s.closed), "the killed worker's sessions ended");
        let served = 0;
        for (let i = 0; i < 50; i++) if (/^\d+$/.test(await firstLine(port!))) served++;
        assert.equal(served, 50, "new clients are served meanwhile and after");
        await Promise.all(onSurvivor.map((s) => s.finish()));
        for (const s of onSurvivor) {
          assert.ok(
            s.intact(),
            `a stream on the surviving worker: sent ${s.sent}, echoed ${s.echoed}, error ${s.error?.message}`,
          );
        }
        assert.ok(alive(lb.pid) && alive(survivor));
        assert.ok(lb.rssBytes() < rssMaster + 64 * MB, "the master's memory is bounded");
        streams = [];
      } finally {
        await lb.stop();
        for (const p of workers) if (alive(p)) process.kill(p, "SIGKILL");
        await echo.close();
      }
    });

    test("admin endpoint: a slowloris and a 10 MB body are cut off, 20 KB of headers get 431, /healthz answers throughout", async () => {
      const echo = await startNamedEcho("e");
      const [port, adminPort] = await freePorts(2);
      const file = writeConfig(
        `error_log: { path: stderr, level: notice }\nadmin: { listen: "127.0.0.1:${adminPort}" }\nstream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
      );
      const lb = await startStreamlb(target, file);
      try {
        const stream = await new Stream(port!).start(512, 20);
        const rssStart = lb.rssBytes();
        // A header line every 500 ms, forever.
        const loris = raw(adminPort!, (s) => {
          s.write("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
          const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write("X-a: b\r\n")), 500);
          s.on("close", () => clearInterval(t));
        }, 20_000);
        // Headers done, then a byte of the body every 500 ms.
        const slowBody = raw(adminPort!, (s) => {
          s.write(
            "POST /api/upstreams/u/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
          );
          const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(" ")), 500);
          s.on("close", () => clearInterval(t));
        }, 20_000);
        // 10 MB, as fast as it is taken.
        const big = raw(adminPort!, (s) => {
          s.write(
            "POST /api/upstreams/u/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n",
          );
          const chunk = Buffer.alloc(64 * 1024, 32);
          let sent = 0;
          const more = () => {
            while (sent < 10 * MB && !s.destroyed) {
              sent += chunk.length;
              if (!s.write(chunk)) return void s.once("drain", more);
            }
          };
          more();
        }, 20_000);
        const headers = raw(
          adminPort!,
          (s) => s.write(`GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-big: ${"a".repeat(20_000)}\r\n\r\n`),
          10_000,
        );
        // Meanwhile the endpoint serves everyone else.
        for (let i = 0; i < 10; i++) {
          const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
          assert.equal(await r.text(), "ok\n");
          await sleep(200);
        }
        const [l, sb, b, h] = await Promise.all([loris, slowBody, big, headers]);
        assert.ok(l.closedAfterMs !== null, "the slowloris was cut off");
        assert.doesNotMatch(l.text, /^HTTP\/1\.1 200/, "and never served");
        assert.ok(sb.closedAfterMs !== null, "the slow body was cut off");
        assert.match(sb.text, /^(HTTP\/1\.1 408 |$)/, "with 408 (or a close)");
        assert.ok(b.closedAfterMs !== null, "the 10 MB body was cut off");
        assert.match(b.text, /^(HTTP\/1\.1 413 |$)/, "with 413 (or a close: Bun sends none)");
        assert.match(h.text, /^HTTP\/1\.1 431 /);
        await stream.finish();
        assert.ok(stream.intact(), "a stream through the balancer lost nothing");
        assert.equal(await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).text(), "ok\n");
        assert.ok(alive(lb.pid));
        const rssEnd = lb.rssBytes();
        assert.ok(rssEnd - rssStart < 64 * MB, `RSS grew by ${((rssEnd - rssStart) / MB).toFixed(1)} MB`);
        console.log(
          `# ${target}: slowloris cut after ${l.closedAfterMs} ms, slow body ${sb.closedAfterMs} ms, 10 MB body ${b.closedAfterMs} ms; RSS ${
            (rssStart / MB).toFixed(1)
          } → ${(rssEnd / MB).toFixed(1)} MB`,
        );
      } finally {
        await lb.stop();
        await echo.close();
      }
    });
  });
}
