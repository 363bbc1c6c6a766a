// Chaos, part 1: backends that misbehave and an access log on a full disk, on every target.
// Through each fault, hash-checked streams on a healthy backend run on: none may lose a byte
// or end, the process lives, and its memory stays bounded. Each target takes about 10 s.
import assert from "node:assert/strict";
import net from "node:net";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startBackend, startNamedEcho } from "../support/backends.ts";
import { Stream } from "../support/streams.ts";
import { alive, startStreamlb, type Streamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

/** A client: sends `payload` (if any), gathers what comes back, resolves when the connection ends (or after waitMs). */
function exchange(
  port: number,
  payload: Buffer | null,
  waitMs = 8_000,
): Promise<{ got: Buffer; ended: boolean; error: string | null }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let error: string | null = null;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ got: Buffer.concat(chunks), ended: false, error });
    }, waitMs);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ got: Buffer.concat(chunks), ended: true, error });
    });
    if (payload) s.write(payload);
  });
}

/** Running hash of what a backend received on one connection, reported when the client's FIN arrives. */
function hashOnEnd(socket: net.Socket, report: (hex: string, bytes: number) => void): void {
  const h = createHash("sha256");
  let n = 0;
  socket.on("data", (d: Buffer) => {
    h.update(d);
    n += d.length;
  });
  socket.on("end", () => report(h.digest("hex"), n));
}

for (const target of TARGETS) {
  describe(`chaos: backends on ${target}`, () => {
    test("RST mid-stream, black hole, half-open, close after the first byte, a backend dying under 100 sessions", async () => {
      const backends: Backend[] = [];
      const good = await startNamedEcho("good");
      backends.push(good);
      // Resets the connection once the client's first bytes arrive.
      const rst = await startBackend("rst", 0, (s) => s.once("data", () => s.resetAndDestroy()));
      // Accepts and never reads: the balancer's buffers must not grow with what the client sends.
      const hole = await startBackend("hole", 0, (s) => s.pause());
      // Sends its greeting and its FIN at once, then keeps reading until the client's FIN.
      const halfReports: { hex: string; bytes: number }[] = [];
      const half = await startBackend("half", 0, (s) => {
        hashOnEnd(s, (hex, bytes) => {
          halfReports.push({ hex, bytes });
          s.destroy();
        });
        s.end("half\n");
      });
      const firstByte = await startBackend("first", 0, (s) => s.end("x", () => s.destroy()));
      const dying = await startNamedEcho("dying");
      backends.push(rst, hole, half, firstByte, dying);

      const ports = await freePorts(6);
      const [pGood, pRst, pHole, pHalf, pFirst, pDying] = ports as [number, number, number, number, number, number];
      const file = writeConfig(`
error_log: { path: stderr, level: info }
stream:
  proxy_timeout: 10s
  servers:
    - { listen: "127.0.0.1:${pGood}", proxy_pass: "${good.address}" }
    - { listen: "127.0.0.1:${pRst}", proxy_pass: "${rst.address}" }
    - { listen: "127.0.0.1:${pHole}", proxy_pass: "${hole.address}", proxy_timeout: 1500ms }
    - { listen: "127.0.0.1:${pHalf}", proxy_pass: "${half.address}", proxy_half_close: on }
    - { listen: "127.0.0.1:${pFirst}", proxy_pass: "${firstByte.address}" }
    - { listen: "127.0.0.1:${pDying}", proxy_pass: "${dying.address}" }
`);
      let lb: Streamlb | null = null;
      const streams: Stream[] = [];
      try {
        lb = await startStreamlb(target, file);
        const pid = lb.pid;
        streams.push(...(await Promise.all(Array.from({ length: 20 }, () => new Stream(pGood).start(1024, 20)))));
        const rssStart = lb.rssBytes();

        // RST mid-stream: each client's session ends, and nothing else does.
        const resets = await Promise.all(Array.from({ length: 10 }, () => exchange(pRst, Buffer.from("hello\n"))));
        assert.ok(resets.every((r) => r.ended), "every session to the resetting backend ended");
        // ... and each is logged as nginx logs a reset on the upstream's connection.
        const resetLine = new RegExp(
          `\\[error\\] \\d+#0: \\*\\d+ recv\\(\\) failed \\(104: Connection reset by peer\\) while proxying and reading from upstream, client: 127\\.0\\.0\\.1, server: 127\\.0\\.0\\.1:${pRst}, upstream: "${rst.address}", bytes from/to client:6/0, bytes from/to upstream:0/6`,
          "g",
        );
        for (let i = 0; i < 100 && (lb.log().match(resetLine)?.length ?? 0) < 10; i++) await sleep(20);
        assert.equal(lb.log().match(resetLine)?.length, 10, lb.log());

        // Black hole: 3 clients push up to 16 MB each into a backend that never reads; the
        // sessions end at proxy_timeout and the balancer holds at most its buffers.
        const holes = await Promise.all(
          Array.from({ length: 3 }, async () => {
            const s = net.connect(pHole, "127.0.0.1");
            s.on("error", () => undefined);
            let pushed = 0;
            const closed = new Promise<void>((r) => s.on("close", () => r()));
            const until = Date.now() + 1_000;
            const chunk = Buffer.alloc(256 * 1024, 7);
            while (pushed < 16 * MB && Date.now() < until && !s.destroyed) {
              if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once("drain", r)), sleep(100)]);
              pushed += chunk.length;
            }
            const ended = await Promise.race([closed.then(() => true), sleep(6_000).then(() => false)]);
            s.destroy();
            return { ended, accepted: pushed - s.writableLength };
          }),
        );
        assert.ok(holes.every((h) => h.ended), "black-holed sessions end at proxy_timeout");
        const rssHole = lb.rssBytes();

        // Half-open backend: its FIN reaches the client, and the client's 256 KiB still reach it whole.
        const payload = Buffer.alloc(256 * 1024);
        for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
        const halfClient = await new Promise<{ got: string; error: string | null }>((resolve) => {
          const s = net.connect(pHalf, "127.0.0.1");
          let got = "";
          let error: string | null = null;
          s.on("data", (d: Buffer) => (got += d.toString("latin1")));
          s.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
          s.on("end", () => s.end(payload));
          s.on("close", () => resolve({ got, error }));
          setTimeout(() => s.destroy(), 8_000);
        });
        assert.equal(halfClient.got, "half\n");
        assert.equal(halfClient.error, null);
        for (let i = 0; i < 100 && halfReports.length === 0; i++) await sleep(20);
        assert.deepEqual(halfReports, [{ hex: createHash("sha256").update(payload).digest("hex"), bytes: payload.length }]);

        // Close after the first byte: the client gets that byte and the close.
        const firsts = await Promise.all(Array.from({ length: 10 }, () => exchange(pFirst, null)));
        assert.deepEqual(firsts.map((f) => [f.got.toString(), f.ended]), Array(10).fill(["x", true]));

        // A backend dies under 100 live sessions: all 100 end, the healthy streams do not.
        const doomed = await Promise.all(Array.from({ length: 100 }, () => new Stream(pDying).start(256, 50)));
        await sleep(200);
        await dying.close();
        for (let i = 0; i < 300 && doomed.some((d) => !d.closed); i++) await sleep(20);
        assert.equal(doomed.filter((d) => d.closed).length, 100, "every session on the dead backend ended");
        const refused = await exchange(pDying, Buffer.from("anyone?\n"));
        assert.ok(refused.ended && refused.got.length === 0, "a new session to the dead backend is closed at once");
        await lb.waitForLog(
          /\[error\] \d+#0: \*\d+ connect\(\) failed \(111: Connection refused\) while connecting to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+, upstream: "127\.0\.0\.1:\d+"/,
        );

        // Through all of it: the healthy streams lost nothing, the process lives, memory is bounded.
        await Promise.all(streams.map((s) => s.finish()));
        for (const s of streams) {
          assert.ok(s.intact(), `a healthy stream lost bytes: sent ${s.sent}, echoed ${s.echoed}, error ${s.error?.message}`);
        }
        assert.ok(streams.every((s) => s.sent > 0));
        assert.ok(alive(pid), "streamlb is alive");
        const rssEnd = lb.rssBytes();
        assert.ok(rssHole - rssStart < 64 * MB, `black holes grew RSS by ${((rssHole - rssStart) / MB).toFixed(1)} MB`);
        assert.ok(rssEnd < 400 * MB, `RSS at the end ${(rssEnd / MB).toFixed(1)} MB`);
        console.log(
          `# ${target}: RSS start ${(rssStart / MB).toFixed(1)} MB, after black holes ${(rssHole / MB).toFixed(1)} MB, end ${
            (rssEnd / MB).toFixed(1)
          } MB; black holes took ${holes.map((h) => (h.accepted / MB).toFixed(1)).join("/")} MB`,
        );
      } finally {
        for (const s of streams) s.socket.destroy();
        await lb?.stop();
        await Promise.all(backends.map((b) => b.close()));
      }
    });

    test("the access log on a full disk (/dev/full): sessions go on, one [alert] a minute as nginx", async () => {
      const good = await startNamedEcho("good");
      const [port] = await freePorts(1);
      const file = writeConfig(`
error_log: { path: stderr, level: notice }
stream:
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: "${good.address}", access_log: /dev/full }
`);
      const lb = await startStreamlb(target, file);
      try {
        const streams = await Promise.all(Array.from({ length: 10 }, () => new Stream(port!).start(1024, 20)));
        for (let i = 0; i < 50; i++) assert.equal(await firstLine(port!), "good");
        await lb.waitForLog(/\[alert\] \d+#0: write\(\) to "\/dev\/full" failed \(28: No space left on device\)/);
        await Promise.all(streams.map((s) => s.finish()));
        for (const s of streams) assert.ok(s.intact(), `a stream lost bytes: sent ${s.sent}, echoed ${s.echoed}`);
        assert.equal(lb.log().match(/\[alert\]/g)!.length, 1, "50 failed writes, one line");
        assert.ok(alive(lb.pid));
        assert.ok(lb.rssBytes() < 400 * MB);
      } finally {
        await lb.stop();
        await good.close();
      }
    });
  });
}
