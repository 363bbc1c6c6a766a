// Out of file descriptors: nginx's [crit] accept4() line, the sessions held keep working, and
// accepting comes back by itself once descriptors are free. The limit is lowered under the
// running process with prlimit(1) to just above what it holds, so the test knows the point.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import net from "node:net";
import { describe, test } from "node:test";
import { freePorts, startNamedEcho } from "../support/backends.ts";
import { startStreamlb, TARGETS, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects and waits for the backend's greeting; null if the balancer closed or refused it. */
function greeted(port: number, waitMs = 1_500): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const timer = setTimeout(() => done(false), waitMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.removeAllListeners("data");
      if (!ok) s.destroy();
      resolve(ok ? s : null);
    };
    s.on("error", () => done(false));
    s.on("close", () => done(false));
    s.once("data", () => done(true));
  });
}

function echoes(s: net.Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 2_000);
    s.once("data", (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString() === "still here\n");
    });
    s.write("still here\n");
  });
}

function hasPrlimit(): boolean {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

for (const target of TARGETS) {
  describe(`descriptors run out on ${target}`, { skip: !hasPrlimit() }, () => {
    test("[crit] accept4() failed, held sessions still echo, accepting resumes once fds are free", async () => {
      const echo = await startNamedEcho("fd");
      const [port] = await freePorts(1);
      const file = writeConfig(
        `error_log: { path: stderr, level: notice }\nstream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
      );
      const lb = await startStreamlb(target, file);
      const sockets: net.Socket[] = [];
      try {
        const held: net.Socket[] = [];
        for (let i = 0; i < 3; i++) {
          const s = await greeted(port!);
          assert.ok(s, "a session before the limit");
          held.push(s);
        }
        // Room for one more session (two descriptors), then none.
        const open = readdirSync(`/proc/${lb.pid}/fd`).length;
        execFileSync("prlimit", ["--pid", String(lb.pid), `--nofile=${open + 2}:${open + 2}`]);
        await sleep(1_100); // the balancer re-reads its limit at most once a second
        for (let i = 0; i < 6 && !/\[crit\]/.test(lb.log()); i++) {
          const s = await greeted(port!, 500);
          if (s) sockets.push(s);
        }
        assert.match(lb.log(), /\[crit\] \d+#0: accept4\(\) failed \(24: Too many open files\)/);
        for (const s of held) assert.ok(await echoes(s), "a held session still echoes");
        // Free the descriptors: accepting must come back by itself.
        for (const s of [...held, ...sockets.splice(0)]) s.destroy();
        // While paused, Node closes and Bun refuses new clients at once (Deno leaves them in the
        // backlog), so tries are spaced over about nginx's 500 ms retry, a few times over.
        let served: net.Socket | null = null;
        for (let i = 0; i < 10 && !served; i++) {
          served = await greeted(port!, 500);
          if (!served) await sleep(250);
        }
        assert.ok(served, "a new client is served once descriptors are free");
        sockets.push(served);
        assert.equal(lb.log().match(/\[crit\]/g)!.length <= 3, true, "at most about one [crit] line a second");
      } finally {
        for (const s of sockets) s.destroy();
        await lb.stop();
        await echo.close();
      }
    });
  });
}
