// nginx's binary upgrade on every target, under load: 1,000 connects one after another and 50
// streams that send and check their echo run while USR2 starts the new binary, WINCH stops the
// old one taking connections and QUIT ends it once its streams are done. Not one connect is
// refused or reset, every streamed byte comes back, and the pid file moves as nginx's does.
// Then HUP after WINCH rolls back: the old binary takes connections again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, readlinkSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type Backend, firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { heldListeners, listeningSockets } from "../support/listeners.ts";
import { Stream } from "../support/streams.ts";
import { alive, command, type Streamlb, type Target, TARGETS, tempDir, wrap, writeConfig } from "../support/streamlb.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * streamlb as a lone process; Deno binds beside the old binary only with --unstable-net. The
 * binary runs from a copy, so the test can replace it on disk as an operator does.
 */
async function start(target: Target, file: string, binary: string): Promise<Streamlb> {
  let [exe, ...args] = command(target);
  if (target === "deno") args.splice(1, 0, "--unstable-net");
  if (target === "binary") {
    copyFileSync(exe!, binary);
    exe = binary;
  }
  const child = spawn(exe!, [...args, "-c", file], { stdio: ["ignore", "pipe", "pipe"] });
  const lb = wrap(child);
  await lb.waitForLog(/listening on/, 20_000);
  return Object.assign(lb, { ports: [] });
}

/** One connect: "ok", or how it failed (refused, reset, closed early...). */
async function connectOnce(port: number): Promise<string> {
  try {
    await firstLine(port);
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? (e instanceof Error ? e.message.slice(0, 40) : String(e));
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The pid in a pid file; "" while there is none (one binary removed it, the other has not written it yet). */
function pidIn(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

const count = (log: string, re: RegExp) => (log.match(new RegExp(re, "g")) ?? []).length;

/**
 * Handed over as descriptors, the sockets and their queues never close: every connect is
 * served. Bound beside (SO_REUSEPORT), nothing is refused either, but a connect that sits in
 * an old socket's accept queue when WINCH closes it is reset by the kernel (Linux does not
 * move it to the new socket unless net.ipv4.tcp_migrate_req=1): counted and reported.
 */
function checkOutcomes(t: { diagnostic(m: string): void }, outcomes: Map<string, number>, by: "fd" | "SO_REUSEPORT"): void {
  const seen = Object.fromEntries(outcomes);
  t.diagnostic(`handover by ${by}: ${JSON.stringify(seen)}`);
  if (by === "fd") return assert.deepEqual(seen, { ok: 1000 }, "no connect refused or reset");
  const { ok = 0, ECONNRESET: reset = 0, ...other } = seen;
  assert.deepEqual(other, {}, "nothing refused, nothing failed but by a reset");
  assert.equal(ok + reset, 1000);
}

describe("binary upgrade (USR2, WINCH, QUIT, HUP)", () => {
  for (const target of TARGETS) {
    test(target, { timeout: 90_000 }, async (t) => {
      const echo: Backend = await startNamedEcho("up");
      const [port] = (await freePorts(1)) as [number];
      const dir = tempDir();
      const pidFile = join(dir, "streamlb.pid");
      const file = writeConfig(
        `pid: ${pidFile}\nerror_log: { path: stderr, level: notice }\n` +
          `stream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
      );
      const pids: number[] = [];
      let old: Streamlb | null = null;
      try {
        const binary = join(dir, "streamlb");
        old = await start(target, file, binary);
        pids.push(old.pid);
        const log = old.log; // the new binary writes to the same stderr
        const streams = await Promise.all(Array.from({ length: 50 }, () => new Stream(port).start()));

        const outcomes = new Map<string, number>();
        let next = 0;
        const connects = (async () => {
          for (; next < 1000; next++) {
            const r = await connectOnce(port);
            outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
          }
        })();

        // USR2 once some connects went through the old binary alone.
        await waitFor("100 connects", () => next >= 100);
        if (target === "binary") {
          // The new version goes in place as a new file (a running executable cannot be written).
          copyFileSync(command("binary")[0]!, `${binary}.new`);
          renameSync(`${binary}.new`, binary);
        }
        old.signal("SIGUSR2");
        const started = /start new binary process (\d+)/.exec(await old.waitForLog(/start new binary process \d+/, 15_000));
        const newPid = Number(started![1]);
        pids.push(newPid);
        await waitFor("the new binary listening", () => new RegExp(`\\] ${newPid}#0: streamlb/.* listening on`).test(log()));
        if (target === "binary") assert.equal(readlinkSync(`/proc/${newPid}/exe`), binary, "the file on disk now runs");
        assert.equal(readFileSync(`${pidFile}.oldbin`, "utf8").trim(), String(old.pid), "the old pid moved to .oldbin");
        await waitFor("the new pid file", () => pidIn(pidFile) === String(newPid));

        // Both take connections for a while, then WINCH: the old one stops taking them.
        const atWinch = next;
        await waitFor("100 more connects", () => next >= atWinch + 100);
        old.signal("SIGWINCH");
        await old.waitForLog(/signal 28 \(SIGWINCH\) received, gracefully shutting down/);
        const atQuit = next;
        await waitFor("100 connects after WINCH", () => next >= atQuit + 100);
        // QUIT: the old binary ends once its streams end; they still run.
        old.signal("SIGQUIT");
        await connects;
        await Promise.all(streams.map((s) => s.finish()));
        assert.equal(await old.exited(15_000), 0, "the old binary exits by itself once its sessions are done");
        old = null;

        checkOutcomes(t, outcomes, target === "deno" ? "SO_REUSEPORT" : "fd");
        for (const s of streams) {
          assert.ok(s.sent > 0);
          assert.ok(
            s.intact(),
            `every byte of a stream came back (sent ${s.sent}, echoed ${s.echoed}, ${s.error?.message ?? "no error"})`,
          );
        }
        assert.ok(!existsSync(`${pidFile}.oldbin`), "the old binary took .oldbin with it");
        assert.equal(await connectOnce(port), "ok", "the new binary serves alone");
        // Only the new binary took sessions after WINCH (its log says so; the old one's is silent).
        assert.ok(alive(newPid));

        // Rollback, from the new binary as the old one now: USR2, WINCH, then HUP takes them back.
        process.kill(newPid, "SIGUSR2");
        await waitFor("a third binary", () => count(log(), /start new binary process \d+/) === 2);
        const third = Number([...log().matchAll(/start new binary process (\d+)/g)][1]![1]);
        pids.push(third);
        await waitFor("the third listening", () => new RegExp(`\\] ${third}#0: streamlb/.* listening on`).test(log()));
        process.kill(newPid, "SIGWINCH");
        await waitFor("WINCH taken", () => count(log(), /gracefully shutting down, the new binary/) === 2);
        process.kill(newPid, "SIGHUP");
        await waitFor("the rollback", () => /rolling back: taking connections again/.test(log()));
        process.kill(third, "SIGQUIT");
        await waitFor("the third gone", () => !alive(third));
        await waitFor("the pid file back", () => pidIn(pidFile) === String(newPid));
        await waitFor("listening again", () => new RegExp(`\\] ${newPid}#0: listening again on`).test(log()));
        const after = await Promise.all(Array.from({ length: 20 }, () => connectOnce(port)));
        assert.deepEqual(new Set(after), new Set(["ok"]), "the rolled-back binary serves");
      } finally {
        if (old) await old.stop();
        for (const p of pids) if (alive(p)) process.kill(p, "SIGQUIT");
        await waitFor("every binary gone", () => pids.every((p) => !alive(p)), 10_000).catch(() => {
          for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
        });
        await echo.close();
      }
    });
  }
});

/**
 * nginx's way (Bun, the binary): the master opens the sockets, one per worker, its workers
 * inherit them, USR2 passes them all to the new master, whose workers inherit them in turn, and
 * no listening socket closes while both generations run, so nothing queued in one is lost.
 * Deno's and Node 22.12+'s workers bind their own (SO_REUSEPORT): an old worker's socket closes
 * at WINCH and Linux resets what sits in its queue then. Node 20's node:cluster cannot upgrade.
 */
describe("binary upgrade of a master and 2 workers", () => {
  for (const target of TARGETS) {
    test(target, { timeout: 90_000 }, async (t) => {
      const echo: Backend = await startNamedEcho("up");
      const [port] = (await freePorts(1)) as [number];
      const dir = tempDir();
      const pidFile = join(dir, "streamlb.pid");
      const file = writeConfig(
        `worker_processes: 2\npid: ${pidFile}\nerror_log: { path: stderr, level: notice }\n` +
          `stream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
      );
      const pids = new Set<number>();
      let old: Streamlb | null = null;
      try {
        old = await start(target, file, join(dir, "streamlb"));
        const log = old.log;
        await waitFor("2 workers listening", () => count(log(), /listening on/) >= 2);
        const sharing = /worker processes sharing ports through (.+)$/m.exec(log())?.[1];
        if (sharing === "node:cluster") {
          // Node 20: the workers' one socket is the master's, inside node:cluster; nothing to hand over.
          old.signal("SIGUSR2");
          await old.waitForLog(/signal 12 \(SIGUSR2\) received, the binary upgrade is not possible: node:cluster/);
          assert.equal(await connectOnce(port), "ok", "still serving");
          return;
        }
        const byFd = sharing === "the master's sockets";
        assert.equal(byFd, target === "bun" || target === "binary", `who holds the sockets on ${target}: ${sharing}`);
        const sockets = heldListeners(port, old.pid);
        assert.equal(sockets.size, byFd ? 2 : 0, "one socket per worker, in the master");

        const streams = await Promise.all(Array.from({ length: 50 }, () => new Stream(port).start()));
        const outcomes = new Map<string, number>();
        // Connects go one after another, up to a budget each step raises, so every step
        // (the new binary starting, both serving, WINCH, the old workers leaving) has some.
        let next = 0;
        let budget = 100;
        const connects = (async () => {
          for (; next < 1000; next++) {
            while (next >= budget) await sleep(5);
            const r = await connectOnce(port);
            outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
          }
        })();
        await waitFor("100 connects", () => next >= 100);
        budget = 400;
        old.signal("SIGUSR2");
        const newPid = Number(/start new binary process (\d+)/.exec(await old.waitForLog(/start new binary process \d+/))![1]);
        pids.add(newPid);
        await waitFor("the new master's 2 workers listening", () => count(log(), /listening on/) >= 4);
        // The new master took the old one's sockets rather than binding its own: the same inodes.
        if (byFd) {
          assert.deepEqual(heldListeners(port, newPid), sockets, "the sockets passed on");
          assert.equal(listeningSockets(port), 2, "no other listening socket");
        }
        await waitFor("connects with both generations", () => next >= 400);
        budget = 850;
        old.signal("SIGWINCH");
        await old.waitForLog(/signal 28 \(SIGWINCH\) received, gracefully shutting down/);
        // The old workers quit gracefully: their streams go on until they end.
        await Promise.all(streams.map((s) => s.finish()));
        const oldPid = old.pid;
        await waitFor("the old workers gone", () => count(log(), new RegExp(`\\] ${oldPid}#0: worker process \\d+ exited`)) >= 2);
        budget = 1000;
        old.signal("SIGQUIT");
        assert.equal(await old.exited(15_000), 0);
        old = null;
        await connects;
        checkOutcomes(t, outcomes, byFd ? "fd" : "SO_REUSEPORT");
        for (const s of streams) {
          assert.ok(s.sent > 0);
          assert.ok(s.intact(), `every byte of a stream came back (sent ${s.sent}, echoed ${s.echoed})`);
        }
        assert.equal(readFileSync(pidFile, "utf8").trim(), String(newPid));
        if (byFd) assert.deepEqual(heldListeners(port, newPid), sockets, "the same sockets serve on");
        assert.equal(await connectOnce(port), "ok", "the new master's workers serve");
      } finally {
        if (old) await old.stop();
        for (const p of pids) if (alive(p)) process.kill(p, "SIGQUIT");
        await waitFor("every binary gone", () => [...pids].every((p) => !alive(p)), 10_000).catch(() => {
          for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
        });
        await echo.close();
      }
    });
  }
});
