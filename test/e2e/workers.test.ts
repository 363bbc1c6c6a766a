// worker_processes 2 on every target: two worker pids serve, a killed worker is replaced
// while connections keep succeeding, quit/TERM end master and workers, and a health check
// run by worker 0 takes a server out of (and back into) every worker's balancing.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { heldListeners, listenersByPid, nodeHonoursReusePort } from "../support/listeners.ts";
import { alive, runStreamlb, startStreamlb, type Streamlb, TARGETS, tempDir } from "../support/streamlb.ts";
import { writeFileSync } from "node:fs";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTERVAL_MS = 200;

/** Worker pids that logged "listening on", in order. */
function listeningPids(log: string): number[] {
  return [...log.matchAll(/\] (\d+)#0: streamlb\/\S+ on .* listening on/g)].map((m) => Number(m[1]));
}

/** pid of each session's "connected to" line after `from`, with the server it reached. */
function sessions(log: string, from: number): { pid: number; server: string }[] {
  return [...log.slice(from).matchAll(/\] (\d+)#0: \*\d+ proxy \S+ connected to (\S+)/g)].map((m) => ({
    pid: Number(m[1]),
    server: m[2]!,
  }));
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** n sessions one after another; each must reach a backend. Returns the names reached. */
async function connectMany(port: number, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(await firstLine(port));
  return names;
}

describe("worker_processes 2", { concurrency: true }, () => {
  TARGETS.forEach((target, i) => {
    test(target, { timeout: 30_000 }, async () => {
      const [port] = await freePorts(1);
      const a: Backend = await startNamedEcho("a");
      let b: Backend = await startNamedEcho("b");
      const dir = tempDir();
      const pidFile = join(dir, "streamlb.pid");
      const file = join(dir, "nginx.conf");
      // max_fails=0: no passive marking, so only the shared active check can keep b out.
      writeFileSync(
        file,
        `worker_processes 2;
pid ${pidFile};
error_log stderr info;
events {}
stream {
    upstream u {
        server ${a.address} max_fails=0;
        server ${b.address} max_fails=0;
    }
    server {
        listen 127.0.0.1:${port};
        proxy_pass u;
        health_check interval=${INTERVAL_MS}ms fails=1 passes=1;
        health_check_timeout 300ms;
    }
}
`,
      );
      let lb: Streamlb | null = null;
      const workers = new Set<number>();
      try {
        lb = await startStreamlb(target, file);
        const log = lb.log;
        await waitFor("two workers listening", () => listeningPids(log()).length >= 2, 15_000);
        for (const p of listeningPids(log())) workers.add(p);
        assert.ok(!workers.has(lb.pid), "the master does not listen");

        // (0) Ports are shared as the master says: on Bun the master opens one socket per
        // worker (SO_REUSEPORT) and each worker inherits its own (nginx's `reuseport`); on Deno
        // and Node 22.12+ each worker binds its own and the master holds none; on Node 20,
        // node:cluster's master holds the only one.
        const sharing = /worker processes sharing ports through (.+)$/m.exec(log())?.[1] ?? "SO_REUSEPORT";
        if (target === "node") {
          const expected = (await nodeHonoursReusePort()) ? "SO_REUSEPORT" : "node:cluster";
          assert.equal(sharing, expected, "Node's workers use SO_REUSEPORT exactly where its listen() honours it");
        } else assert.equal(sharing, target === "deno" ? "SO_REUSEPORT" : "the master's sockets");
        const held = listenersByPid(port!, [lb.pid, ...workers]);
        const byWorkers = [...workers].map((p) => held.get(p));
        if (sharing === "node:cluster") {
          assert.deepEqual([held.get(lb.pid), ...byWorkers], [1, 0, 0], "the master holds the one listener");
        } else if (sharing === "SO_REUSEPORT") {
          assert.deepEqual([held.get(lb.pid), ...byWorkers], [0, 1, 1], "each worker holds its own listener");
        } else {
          assert.deepEqual([held.get(lb.pid), ...byWorkers], [2, 1, 1], "the master holds each worker's listener");
          const [a, b] = [...workers].map((p) => [...heldListeners(port!, p)][0]);
          assert.notEqual(a, b, "each worker its own");
          assert.deepEqual(heldListeners(port!, lb.pid), new Set([a, b]));
        }

        // (1) Sessions spread over both workers.
        let mark = log().length;
        const names = await connectMany(port!, 20);
        assert.ok(names.every((n) => n === "a" || n === "b"), `every session reached a backend: ${names.join(",")}`);
        await waitFor("20 session lines", () => sessions(log(), mark).length >= 20, 3_000);
        const pids = new Set(sessions(log(), mark).map((s) => s.pid));
        assert.equal(pids.size, 2, `two worker pids served: ${[...pids].join(",")}`);

        // (2) A killed worker is replaced; sessions go on meanwhile.
        const [victim] = listeningPids(log()).slice(-1);
        process.kill(victim!, "SIGKILL");
        await waitFor("the victim gone", () => !alive(victim!), 3_000);
        await connectMany(port!, 5);
        await waitFor("a third worker listening", () => listeningPids(log()).length >= 3, 10_000);
        const replacement = listeningPids(log())[2]!;
        workers.add(replacement);
        assert.notEqual(replacement, victim);
        assert.ok(alive(replacement));
        assert.equal((await connectMany(port!, 10)).length, 10);

        // (4) b stops listening: within interval×fails (+ margin) no worker sends it a session.
        await b.close();
        await sleep(INTERVAL_MS * 1 + 800);
        mark = log().length;
        const whileDown = await connectMany(port!, 20);
        assert.deepEqual(new Set(whileDown), new Set(["a"]));
        await sleep(100);
        const tried = sessions(log(), mark);
        assert.ok(!tried.some((s) => s.server === b.address), "no worker tried b");
        assert.equal(new Set(tried.map((s) => s.pid)).size, 2, "both workers served while b was down");
        assert.ok(!/connect\(\) failed/.test(log().slice(mark)), "no worker even tried b");

        // ...and comes back for every worker once it listens again.
        b = await startNamedEcho("b", b.port);
        await sleep(INTERVAL_MS * 1 + 800);
        mark = log().length;
        await connectMany(port!, 30);
        await sleep(100);
        const toB = new Set(sessions(log(), mark).filter((s) => s.server === b.address).map((s) => s.pid));
        assert.equal(toB.size, 2, `both workers send to b again: ${[...toB].join(",")}`);

        // (3) quit (or TERM) ends the master and every worker.
        if (i % 2 === 0) {
          const r = await runStreamlb(target, ["-c", file, "-s", "quit"]);
          assert.equal(r.code, 0, r.stderr);
        } else {
          lb.signal("SIGTERM");
        }
        assert.equal(await lb.exited(10_000), 0);
        await waitFor("every worker gone", () => [...workers].every((p) => !alive(p)), 5_000);
        lb = null;
      } finally {
        // Never leave a worker behind, whatever failed.
        for (const p of workers) if (alive(p)) process.kill(p, "SIGKILL");
        if (lb) await lb.stop();
        await a.close();
        await b.close();
      }
    });
  });
});
