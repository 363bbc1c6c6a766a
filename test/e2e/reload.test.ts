// Reload, drain and stop without losing a byte (issue 5), on every target.
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { shortSessions, Stream } from "../support/streams.ts";
import { runStreamlb, startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a session and learns which backend it reached (it stays open, quiet). */
async function hold(port: number): Promise<{ backend: string; socket: net.Socket }> {
  const s = new Stream(port);
  await s.opened;
  return { backend: s.backend, socket: s.socket };
}

for (const target of TARGETS) {
  describe(`reload and stop on ${target}`, () => {
    const backends: Backend[] = [];
    let a: Backend, b: Backend, c: Backend;
    before(async () => {
      backends.push(...(await Promise.all(["a", "b", "c"].map((n) => startNamedEcho(n)))));
      [a, b, c] = backends as [Backend, Backend, Backend];
    });
    after(async () => {
      await Promise.all(backends.map((x) => x.close()));
    });

    const config = (port: number, servers: string, extra = "") => `
error_log: { path: stderr, level: notice }
${extra}
stream:
  upstreams:
    u:
      servers: [${servers}]
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: u }
`;

    test("10 reloads under 1,000 short connections and 50 streams: nothing refused, reset or lost", async () => {
      const [port] = await freePorts(1);
      const two = config(port!, `"${a.address}", "${b.address}"`);
      const three = config(port!, `"${a.address}", "${b.address}", "${c.address}"`);
      const file = writeConfig(three);
      const lb = await startStreamlb(target, file);
      try {
        const streams = await Promise.all(Array.from({ length: 50 }, () => new Stream(port!).start()));
        assert.ok(streams.some((s) => s.backend === "c"), "some streams are on c, which reloads will remove");
        const shortLoop = shortSessions(port!, 1000);
        for (let i = 0; i < 10; i++) {
          writeFileSync(file, i % 2 === 0 ? two : three);
          const before = (lb.log().match(/reconfigured/g) ?? []).length;
          lb.signal("SIGHUP");
          for (let w = 0; w < 200 && (lb.log().match(/reconfigured/g) ?? []).length === before; w++) await sleep(10);
          await sleep(60);
        }
        const { done, failures } = await shortLoop;
        await Promise.all(streams.map((s) => s.finish()));
        assert.equal(done, 1000);
        assert.equal(failures, 0, "no refused or reset short connection");
        assert.equal((lb.log().match(/reconfigured/g) ?? []).length, 10);
        for (const s of streams) {
          assert.equal(s.error, null, `stream on ${s.backend} failed: ${s.error?.message}`);
          assert.ok(s.sent > 0);
          assert.equal(s.echoed, s.sent, `stream on ${s.backend}: every byte came back`);
          assert.ok(s.intact(), `stream on ${s.backend}: the bytes came back as sent`);
        }
      } finally {
        await lb.stop();
      }
    });

    test("a broken config is logged with file:line and the old one keeps serving", async () => {
      const [port] = await freePorts(1);
      const file = writeConfig(config(port!, `"${a.address}"`));
      const lb = await startStreamlb(target, file);
      try {
        writeFileSync(file, "stream:\n  servers: [\n");
        lb.signal("SIGHUP");
        await lb.waitForLog(/reload failed, the running configuration is kept/);
        assert.match(lb.log(), new RegExp(`\\[emerg\\].*${file.replace(/[.\\/]/g, "\\$&")}:\\d+:\\d+`));
        assert.equal(await firstLine(port!), "a");
      } finally {
        await lb.stop();
      }
    });

    test("a server added by reload gets traffic by weight; a removed server's live sessions finish", async () => {
      const [port] = await freePorts(1);
      const file = writeConfig(config(port!, `"${a.address}", "${c.address}"`));
      const lb = await startStreamlb(target, file);
      try {
        // A live session on c, which the reload removes.
        const onC = (await hold(port!)).backend === "c" ? null : await hold(port!);
        const live = onC ?? { backend: "c", socket: null };
        assert.equal(live.backend, "c");
        writeFileSync(file, config(port!, `"${a.address}", { address: "${b.address}", weight: 2 }`));
        lb.signal("SIGHUP");
        await lb.waitForLog(/reconfigured \(generation 2\).*\+127\.0\.0\.1:\d+.*-127\.0\.0\.1:\d+/);
        const picks: string[] = [];
        for (let i = 0; i < 12; i++) picks.push(await firstLine(port!));
        assert.deepEqual(
          { a: picks.filter((p) => p === "a").length, b: picks.filter((p) => p === "b").length },
          { a: 4, b: 8 },
        );
        if (live.socket) {
          // The removed server's session still relays both ways.
          const echoed = await new Promise<string>((resolve) => {
            live.socket!.removeAllListeners("data");
            live.socket!.once("data", (d: Buffer) => resolve(d.toString().slice(-5)));
            live.socket!.write("still");
          });
          assert.equal(echoed, "still");
          live.socket.destroy();
        }
      } finally {
        await lb.stop();
      }
    });

    test("least_conn keeps connection counts across a reload: new sessions go to the new server first", async () => {
      const [port] = await freePorts(1);
      const lc = (servers: string) => config(port!, servers).replace("    u:\n", "    u:\n      least_conn: true\n");
      const file = writeConfig(lc(`"${a.address}", "${b.address}"`));
      const lb = await startStreamlb(target, file);
      const sockets: net.Socket[] = [];
      try {
        const first: string[] = [];
        for (let i = 0; i < 20; i++) {
          const h = await hold(port!);
          first.push(h.backend);
          sockets.push(h.socket);
        }
        assert.equal(first.filter((x) => x === "a").length, 10);
        writeFileSync(file, lc(`"${a.address}", "${b.address}", "${c.address}"`));
        lb.signal("SIGHUP");
        await lb.waitForLog(/reconfigured \(generation 2\)/);
        const next: string[] = [];
        for (let i = 0; i < 20; i++) {
          const h = await hold(port!);
          next.push(h.backend);
          sockets.push(h.socket);
        }
        assert.deepEqual(next.slice(0, 10), Array(10).fill("c"), `next sessions: ${next.join(" ")}`);
        const total = (n: string) => [...first, ...next].filter((x) => x === n).length;
        for (const n of ["a", "b", "c"]) assert.ok(total(n) >= 13 && total(n) <= 14, `${n} holds ${total(n)}`);
      } finally {
        for (const s of sockets) s.destroy();
        await lb.stop();
      }
    });

    test("-s quit waits for live sessions, worker_shutdown_timeout caps the wait; -s stop exits at once", async () => {
      const [port] = await freePorts(1);
      const file = writeConfig(config(port!, `"${a.address}"`, "worker_shutdown_timeout: 1500ms"));
      let lb = await startStreamlb(target, file);
      // quit with a live session that ends by itself after 500 ms: exit follows it.
      let h = await hold(port!);
      const quitAt = Date.now();
      assert.equal((await runStreamlb(target, ["-c", file, "-s", "quit"])).code, 0);
      await sleep(200);
      assert.ok(existsSync(join(dirname(file), "streamlb.pid")), "still running while the session lives");
      await assert.rejects(firstLine(port!), "no new connections while draining");
      setTimeout(() => h.socket.destroy(), 300);
      assert.equal(await lb.exited(5000), 0);
      const quitTook = Date.now() - quitAt;
      assert.ok(quitTook >= 450 && quitTook < 1400, `quit took ${quitTook} ms`);
      assert.ok(!existsSync(join(dirname(file), "streamlb.pid")), "pid file removed on exit");

      // quit with a session that never ends: closed at worker_shutdown_timeout.
      lb = await startStreamlb(target, file);
      h = await hold(port!);
      const closed = new Promise<number>((resolve) => h.socket.on("close", () => resolve(Date.now())));
      const capAt = Date.now();
      lb.signal("SIGQUIT");
      assert.equal(await lb.exited(5000), 0);
      const cappedAfter = (await closed) - capAt;
      assert.ok(cappedAfter >= 1400 && cappedAfter < 3000, `closed after ${cappedAfter} ms`);

      // stop: exits at once, live sessions or not.
      lb = await startStreamlb(target, file);
      h = await hold(port!);
      const stopAt = Date.now();
      assert.equal((await runStreamlb(target, ["-c", file, "-s", "stop"])).code, 0);
      assert.equal(await lb.exited(5000), 0);
      assert.ok(Date.now() - stopAt < 1000);
      h.socket.destroy();
    });

    test("SIGTERM with shutdown_grace drains like quit, bounded (containers)", async () => {
      const [port] = await freePorts(1);
      const file = writeConfig(config(port!, `"${a.address}"`, "shutdown_grace: 800ms"));
      const lb = await startStreamlb(target, file);
      const h = await hold(port!);
      const closed = new Promise<number>((resolve) => h.socket.on("close", () => resolve(Date.now())));
      const at = Date.now();
      lb.signal("SIGTERM");
      await sleep(300);
      assert.equal(h.socket.destroyed, false, "the session lives on during the grace period");
      assert.equal(await lb.exited(5000), 0);
      const after = (await closed) - at;
      assert.ok(after >= 700 && after < 2500, `closed after ${after} ms`);
    });

    test("-s reopen reopens the error log after rotation", async () => {
      const [port] = await freePorts(1);
      const dir = dirname(writeConfig("x"));
      const file = join(dir, "lb.yaml");
      writeFileSync(file, config(port!, `"${a.address}"`).replace("path: stderr", "path: error.log"));
      const log = join(dir, "error.log");
      const lb = await startStreamlb(target, file, [], log);
      assert.doesNotMatch(lb.log(), /listening on/, "the notice went to the log file, not stderr");
      renameSync(log, `${log}.1`);
      assert.equal((await runStreamlb(target, ["-c", file, "-s", "reopen"])).code, 0);
      for (let i = 0; i < 100 && !existsSync(log); i++) await sleep(20);
      assert.ok(existsSync(log), "a fresh error.log was opened");
      assert.equal((await runStreamlb(target, ["-c", file, "-s", "stop"])).code, 0);
      assert.equal(await lb.exited(5000), 0);
      assert.match(readFileSync(log, "utf8"), /signal SIGINT received/);
      assert.doesNotMatch(readFileSync(`${log}.1`, "utf8"), /SIGINT/);
    });
  });
}
