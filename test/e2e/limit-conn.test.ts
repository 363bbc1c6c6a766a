// limit_conn over real sockets, on every target: `limit_conn all 10` with two worker processes
// lets exactly 10 sessions in, however the kernel spreads the clients over the workers (a
// per-worker count would let up to 20 in), rejects the rest with nginx's log line, and takes
// new sessions again once held ones end. A second server keeps the same zone in dry run: it
// only logs. The relay paces proxy_download_rate on TCP too.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import { type Backend, freePorts, startNamedEcho } from "../support/backends.ts";
import { alive, startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const LIMIT = 10;
const CLIENTS = 14;

/** A client that stays open: "served" once the backend's greeting arrives, "closed" if closed first. */
function connect(port: number): Promise<{ outcome: "served" | "closed"; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.on("data", () => resolve({ outcome: "served", socket }));
    socket.on("error", () => {});
    socket.on("close", () => resolve({ outcome: "closed", socket }));
  });
}

const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const target of TARGETS) {
  describe(`limit_conn on ${target}`, () => {
    test("limit_conn 10 holds across 2 workers; dry run only logs; units come back", { timeout: 60_000 }, async () => {
      const backend: Backend = await startNamedEcho("b");
      const [port, dryPort] = (await freePorts(2)) as [number, number];
      const file = writeConfig(
        `worker_processes 2;
error_log stderr info;
events {}
stream {
    limit_conn_zone $server_addr zone=all:1m;
    limit_conn_zone $server_port zone=dry:1m;
    server { listen 127.0.0.1:${port}; proxy_pass ${backend.address}; limit_conn all ${LIMIT}; }
    server { listen 127.0.0.1:${dryPort}; proxy_pass ${backend.address}; limit_conn dry 1; limit_conn_dry_run on; }
}
`,
        "streamlb.conf",
      );
      const lb = await startStreamlb(target, file);
      const sockets: net.Socket[] = [];
      const pids = new Set<number>();
      try {
        const log = lb.log;
        // Every worker listens before the clients come, so both take some.
        for (let i = 0; i < 50 && count(log(), /listening on/g) < 2; i++) await sleep(100);
        // The kernel spreads a burst over the two workers' sockets by hash, and now and then
        // sends all of it to one: then the burst proves nothing about a count shared across
        // workers, so it is let go and tried again. The limit must hold in every burst.
        let served: { outcome: string; socket: net.Socket }[] = [];
        let burstLog = "";
        for (let attempt = 1;; attempt++) {
          const mark = log().length;
          const burst = await Promise.all(Array.from({ length: CLIENTS }, () => connect(port)));
          sockets.push(...burst.map((c) => c.socket));
          served = burst.filter((c) => c.outcome === "served");
          assert.ok(served.length <= LIMIT, `${served.length} of ${CLIENTS} served`);
          for (
            let i = 0;
            i < 50 && count(log().slice(mark), /limiting connections by zone "all"/g) < CLIENTS - served.length;
            i++
          ) {
            await sleep(100);
          }
          burstLog = log().slice(mark);
          const burstPids = new Set<number>();
          for (const m of burstLog.matchAll(/\] (\d+)#0: \*\d+ proxy \S+ connected to/g)) burstPids.add(Number(m[1]));
          for (const p of burstPids) pids.add(p);
          if (served.length === LIMIT && burstPids.size === 2) break;
          assert.ok(attempt < 10, `after ${attempt} bursts: ${served.length} served by ${burstPids.size} worker(s)`);
          for (const c of burst) c.socket.destroy();
          await sleep(300); // the units come back once the workers see the closes
        }
        assert.equal(
          count(burstLog, /\[error\] \d+#0: \*\d+ limiting connections by zone "all", client: 127\.0\.0\.1, server: /g),
          CLIENTS - LIMIT,
        );

        // Three end; three new ones get in, and the one after them does not.
        for (const c of served.slice(0, 3)) c.socket.destroy();
        let again: { outcome: string; socket: net.Socket }[] = [];
        for (let i = 0; i < 50; i++) {
          again = await Promise.all([connect(port), connect(port), connect(port)]);
          sockets.push(...again.map((c) => c.socket));
          if (again.every((c) => c.outcome === "served")) break;
          for (const c of again) c.socket.destroy();
          await sleep(100); // the units come back once the workers see the closes
        }
        assert.deepEqual(again.map((c) => c.outcome), ["served", "served", "served"]);
        const over = await connect(port);
        sockets.push(over.socket);
        assert.equal(over.outcome, "closed");

        // Dry run: both are served, the second is logged.
        const dry = await Promise.all([connect(dryPort), connect(dryPort)]);
        sockets.push(...dry.map((c) => c.socket));
        assert.deepEqual(dry.map((c) => c.outcome), ["served", "served"]);
        for (let i = 0; i < 50 && !/limiting connections, dry run, by zone "dry"/.test(log()); i++) await sleep(100);
        assert.match(log(), /limiting connections, dry run, by zone "dry"/);
      } finally {
        for (const s of sockets) s.destroy();
        lb.signal("SIGINT");
        await lb.exited(10_000);
        for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
        await backend.close();
      }
    });
  });
}
