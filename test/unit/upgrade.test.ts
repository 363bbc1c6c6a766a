// The binary upgrade's steps without processes: what USR2 passes on and where the pid file
// goes, WINCH and the rollback, the new binary's exit, one upgrade at a time, and the NGINX
// variable the new binary reads its sockets from.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProcessSupport, Runtime, UpgradeChild } from "../../src/core/runtime.ts";
import { BinaryUpgrade } from "../../src/core/upgrade.ts";
import { Inherited, upgradeEnv } from "../../src/runtime/inherit.ts";

function rig(upgradeBy: ProcessSupport["upgradeBy"]) {
  const files = new Map<string, string>([["/run/s.pid", "100\n"]]);
  const runtime = {
    name: "node",
    pid: 100,
    readTextFile: async (p: string) => files.get(p) ?? Promise.reject(new Error("ENOENT")),
    writeTextFile: async (p: string, t: string) => void files.set(p, t),
    removeFile: async (p: string) => void files.delete(p),
  } as unknown as Runtime;
  const spawned: { key: string; fd: number }[][] = [];
  let exit: (code: number | null) => void = () => undefined;
  const processes = {
    upgradeBy,
    upgradeBlocked: "no way here",
    spawnUpgrade: (listeners: readonly { key: string; fd: number }[]): UpgradeChild => {
      spawned.push([...listeners]);
      return { pid: 200, exited: new Promise((r) => (exit = r)) };
    },
  } as unknown as ProcessSupport;
  const lines: string[] = [];
  const calls: string[] = [];
  const upgrade = new BinaryUpgrade(
    runtime,
    processes,
    { enabled: () => true, log: (level, m) => void lines.push(`[${level}] ${m}`) },
    "/run/s.pid",
    {
      listeners: () => [{ key: "*:8000", fd: 21 }, { key: "127.0.0.1:9000", fd: 22 }],
      stopAccepting: async () => void calls.push("stop"),
      resumeAccepting: async () => void calls.push("resume"),
    },
  );
  return { files, spawned, lines, calls, upgrade, exitChild: (code: number | null) => exit(code) };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("binary upgrade", () => {
  test("USR2 passes the listening sockets on and moves the pid file to .oldbin; a second USR2 is refused", async () => {
    const r = rig("fd");
    await r.upgrade.start();
    assert.deepEqual(r.spawned, [[{ key: "*:8000", fd: 21 }, { key: "127.0.0.1:9000", fd: 22 }]]);
    assert.equal(r.files.get("/run/s.pid.oldbin"), "100\n");
    assert.equal(r.files.has("/run/s.pid"), false, "the new binary writes its own");
    assert.ok(r.lines.includes("[notice] start new binary process 200"));
    await r.upgrade.start();
    assert.equal(r.spawned.length, 1);
    assert.match(r.lines.at(-1)!, /^\[alert\] the changing binary signal is ignored/);
  });

  test("SO_REUSEPORT passes nothing: the new binary binds beside", async () => {
    const r = rig("SO_REUSEPORT");
    await r.upgrade.start();
    assert.deepEqual(r.spawned, [[]]);
  });

  test("where it cannot, USR2 is logged and ignored", async () => {
    const r = rig(null);
    await r.upgrade.start();
    assert.deepEqual(r.spawned, []);
    assert.equal(r.files.get("/run/s.pid"), "100\n");
    assert.match(r.lines[0]!, /the binary upgrade is not possible: no way here; ignoring$/);
  });

  test("WINCH stops accepting only while a new binary runs; HUP then rolls back", async () => {
    const r = rig("fd");
    await r.upgrade.winch();
    assert.deepEqual(r.calls, [], "a stray WINCH changes nothing");
    await r.upgrade.start();
    await r.upgrade.winch();
    assert.equal(r.upgrade.winched, true);
    assert.deepEqual(r.calls, ["stop"]);
    await r.upgrade.rollback();
    assert.equal(r.upgrade.winched, false);
    assert.deepEqual(r.calls, ["stop", "resume"]);
    r.exitChild(0);
    await tick();
    await tick();
    assert.equal(r.files.get("/run/s.pid"), "100\n", "the pid file is ours again");
    assert.equal(r.files.has("/run/s.pid.oldbin"), false);
  });

  test("the new binary ends after WINCH: this one takes connections again by itself", async () => {
    const r = rig("fd");
    await r.upgrade.start();
    await r.upgrade.winch();
    r.exitChild(1);
    for (let i = 0; i < 5 && r.calls.length < 2; i++) await tick();
    assert.deepEqual(r.calls, ["stop", "resume"]);
    assert.equal(r.upgrade.winched, false);
    assert.ok(r.lines.includes("[notice] new binary process 200 exited with code 1"));
    await r.upgrade.start();
    assert.equal(r.spawned.length, 2, "and may upgrade again");
    r.upgrade.resumed(); // lets the test's process end (WINCH's keep-alive timer)
  });
});

describe("the NGINX variable", () => {
  test("round trip: descriptors 3, 4 for the listen keys in order, each handed out once", () => {
    const env = upgradeEnv(["*:8000", "[::1]:9000"]);
    assert.equal(env["NGINX"], "3;4;");
    const inherited = new Inherited(env["NGINX"], env["STREAMLB_INHERITED"]);
    assert.equal(inherited.take("[::1]:9000"), 4);
    assert.equal(inherited.take("*:8000"), 3);
    assert.equal(inherited.take("*:8000"), undefined, "a later reload binds");
  });

  test("nothing, or nonsense, inherits nothing", () => {
    assert.equal(new Inherited(undefined, undefined).take("*:8000"), undefined);
    assert.equal(new Inherited("x;1;", "*:8000;*:9000").take("*:8000"), undefined);
    assert.equal(new Inherited("x;1;", "*:8000;*:9000").take("*:9000"), undefined, "0-2 are stdio, never a socket");
  });
});
