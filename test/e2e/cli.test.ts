// The command line on every target: version, -t, bad configs, and the embedded default.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { firstLine, startNamedEcho } from "../support/backends.ts";
import { command, runStreamlb, TARGETS, wrap, writeConfig, type Target } from "../support/streamlb.ts";
import { spawn } from "node:child_process";
import net from "node:net";

const GOOD = `stream:\n  servers:\n    - { listen: "127.0.0.1:1", proxy_pass: "127.0.0.1:2" }\n`;

for (const target of TARGETS) {
  describe(`CLI on ${target}`, () => {
    test("-v prints the version", async () => {
      const r = await runStreamlb(target, ["-v"]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^streamlb version: streamlb\/\d+\.\d+\.\d+\n$/);
    });

    test("-t on a good config prints nginx's two lines and exits 0", async () => {
      const file = writeConfig(GOOD);
      const r = await runStreamlb(target, ["-t", "-c", file]);
      assert.equal(r.code, 0);
      assert.equal(
        r.stderr,
        `streamlb: the configuration file ${file} syntax is ok\nstreamlb: configuration file ${file} test is successful\n`,
      );
    });

    test("-t on a broken YAML names file:line:col and says the test failed, exit 1", async () => {
      const file = writeConfig("stream:\n  servers:\n    - { listen: 8000, proxy_pass: [ }\n");
      const r = await runStreamlb(target, ["-t", "-c", file]);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n");
      assert.match(lines[0]!, new RegExp(`^streamlb: \\[emerg\\] .* in ${file.replace(/[.\\/]/g, "\\$&")}:3:\\d+$`));
      assert.equal(lines[1], `streamlb: configuration file ${file} test failed`);
    });

    test("a bad config stops startup with exit 1 before anything listens", async () => {
      const file = writeConfig(GOOD.replace("proxy_pass", "proxy_pas"));
      const r = await runStreamlb(target, ["-c", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /unknown key "proxy_pas" in stream\.servers\[0\].* in .*:3:\d+/);
      assert.doesNotMatch(r.stderr, /listening on/);
    });

    test("a missing config file is a one-line error", async () => {
      const r = await runStreamlb(target, ["-c", "/nonexistent/streamlb.yaml"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^streamlb: \[emerg\] open\(\) "\/nonexistent\/streamlb.yaml" failed \(2: No such file or directory\)\n$/);
    });

    test("a port already in use is reported with nginx's reason, exit 1", async () => {
      const taken = await startNamedEcho("taken");
      try {
        const file = writeConfig(`stream:\n  servers:\n    - { listen: "${taken.address}", proxy_pass: "127.0.0.1:2" }\n`);
        const r = await runStreamlb(target, ["-c", file]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`^streamlb: \\[emerg\\] bind\\(\\) to ${taken.address} failed \\(98: Address already in use\\)$`, "m"));
      } finally {
        await taken.close();
      }
    });
  });
}

/**
 * The embedded default listens on the seed's fixed ports (8000 → 6000/6002), so this runs for
 * one target at a time and only where the binary is in the matrix.
 */
describe("the binary with no arguments", () => {
  const target: Target = "binary";
  test("serves the embedded default: 8000 balances round robin to 6000 and 6002", { skip: !TARGETS.includes(target) }, async () => {
    const s1 = await startNamedEcho("chat-6000", 6000);
    const s2 = await startNamedEcho("chat-6002", 6002);
    const [exe, ...args] = command(target);
    const child = spawn(exe!, args, { stdio: ["ignore", "pipe", "pipe"], cwd: writeConfig("").replace(/\/[^/]+$/, "") });
    const lb = wrap(child);
    try {
      await lb.waitForLog(/listening on 0\.0\.0\.0:8000/, 20_000);
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await firstLine(8000));
      assert.deepEqual(got, ["chat-6000", "chat-6002", "chat-6000", "chat-6002"]);
    } finally {
      await lb.stop();
      await Promise.all([s1.close(), s2.close()]);
    }
  });
});

/** The seed's demonstration: two chat servers behind the embedded default (fixed ports too). */
describe("streamlb demo", () => {
  const target: Target = TARGETS[0] ?? "node";
  test(`on ${target}: the first client lands on chat server 6000, the second on 6002`, async () => {
    const [exe, ...args] = command(target);
    const child = spawn(exe!, [...args, "demo"], { stdio: ["ignore", "pipe", "pipe"], cwd: writeConfig("").replace(/\/[^/]+$/, "") });
    const lb = wrap(child);
    const login = (name: string) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(8000, "127.0.0.1", () => s.write(`login ${name}\n`));
        let text = "";
        s.on("data", (d) => {
          text += d;
          const m = /\S+ logged in on chat server \d+/.exec(text);
          if (m) {
            s.destroy();
            resolve(m[0]);
          }
        });
        s.on("error", reject);
      });
    try {
      await lb.waitForLog(/listening on 0\.0\.0\.0:8000/, 20_000);
      assert.equal(await login("alice"), "alice logged in on chat server 6000");
      assert.equal(await login("bob"), "bob logged in on chat server 6002");
    } finally {
      await lb.stop();
    }
  });
});

/** Node's permission model blocks process.binding, which the Node relay's TCP handles need. */
describe("streamlb on Node under the permission model", { skip: !TARGETS.includes("node") }, () => {
  test("says why it cannot listen, exit 1", async () => {
    const [node, main] = command("node");
    const file = writeConfig(GOOD);
    const child = spawn(node!, ["--experimental-permission", "--allow-fs-read=*", "--no-warnings", main!, "-c", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 1);
    assert.match(stderr, /^streamlb: \[emerg\] bind\(\) to 127\.0\.0\.1:1 failed \(streamlb on Node needs Node's TCP handles .*permission model/m);
    assert.doesNotMatch(stderr, /at \S+ \(/, "no stack trace");
  });
});
