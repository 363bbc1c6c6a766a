// The command line on every target: nginx's flags and messages, -t, -T, -e, -g, bad configs,
// and the embedded default.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { firstLine, freePorts, startNamedEcho } from "../support/backends.ts";
import { command, runStreamlb, type Target, TARGETS, wrap, writeConfig } from "../support/streamlb.ts";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import net from "node:net";
import { configureArguments } from "../../src/core/config/schema/modules.ts";

const GOOD = `stream:\n  servers:\n    - { listen: "127.0.0.1:1", proxy_pass: "127.0.0.1:2" }\n`;

for (const target of TARGETS) {
  describe(`CLI on ${target}`, () => {
    test("-v prints the version to stderr, as nginx", async () => {
      const r = await runStreamlb(target, ["-v"]);
      assert.equal(r.code, 0);
      assert.match(r.stderr, /^streamlb version: streamlb\/\d+\.\d+\.\d+\n$/);
      assert.equal(r.stdout, "");
    });

    test("-V: nginx's version line, the runtime, its TLS library in nginx's form, the configure arguments of the modules there", async () => {
      const r = await runStreamlb(target, ["-V"]);
      assert.equal(r.code, 0);
      const lines = r.stderr.split("\n");
      assert.match(lines[1]!, /^nginx version: nginx\/\d+\.\d+\.\d+ \(compatible; streamlb\/\d+\.\d+\.\d+\)$/);
      assert.match(lines[2]!, new RegExp(`^runtime: ${target === "binary" ? "bun" : target} \\S+$`));
      // Each runtime's own TLS, named as nginx names its library (nginx's harness reads it).
      const library = {
        node: /^built with OpenSSL \d/,
        bun: /^built with BoringSSL$/,
        binary: /^built with BoringSSL$/,
        deno: /^built with rustls/,
      }[target];
      assert.match(lines[3]!, library);
      assert.equal(lines[4], "TLS SNI support enabled");
      assert.equal(lines[5], `configure arguments: ${configureArguments()}`);
      assert.match(lines[5]!, / --with-stream_ssl_module/);
    });

    test("option mistakes in nginx's words, exit 1", async () => {
      for (
        const [args, message] of [
          [["-x"], 'invalid option: "x"'],
          [["-c"], 'option "-c" requires file name'],
          [["-p"], 'option "-p" requires directory name'],
          [["-s", "foo"], 'invalid option: "-s foo"'],
        ] as const
      ) {
        const r = await runStreamlb(target, [...args]);
        assert.equal(r.code, 1, args.join(" "));
        assert.equal(r.stderr, `streamlb: ${message}\n`);
      }
    });

    test("-T tests, then prints the main file and each include under nginx's header", async () => {
      const main = writeConfig(
        `events {}\nstream {\n  include extra.conf;\n  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; }\n}\n`,
        "nginx.conf",
      );
      const extra = join(dirname(main), "extra.conf");
      writeFileSync(extra, "proxy_timeout 5s;\n");
      const r = await runStreamlb(target, ["-T", "-c", main]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `# configuration file ${main}:\n${readFileSync(main, "utf8")}\n# configuration file ${extra}:\nproxy_timeout 5s;\n\n`,
      );
      assert.match(r.stderr, /test is successful\n$/);
    });

    test("-q: -t says nothing on success", async () => {
      const r = await runStreamlb(target, ["-t", "-q", "-c", writeConfig(GOOD)]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, "");
    });

    test("-t opens the logs and the pid file's directory: one in a missing directory fails the test", async () => {
      const dir = dirname(writeConfig(""));
      for (
        const [what, text] of [
          [
            "access log",
            `stream:\n  servers:\n    - { listen: "127.0.0.1:1", proxy_pass: "127.0.0.1:2", access_log: { path: ${dir}/no/a.log } }\n`,
          ],
          ["error log", `error_log: { path: ${dir}/no/e.log }\n${GOOD}`],
          ["pid file", `pid: ${dir}/no/s.pid\n${GOOD}`],
        ]
      ) {
        const file = writeConfig(text!);
        const r = await runStreamlb(target, ["-t", "-c", file]);
        assert.equal(r.code, 1, what);
        assert.match(
          r.stderr,
          new RegExp(`\\[emerg\\] open\\(\\) "${dir}/no/[aes]\\.(log|pid)" failed \\(2: No such file or directory\\)\n`),
          what,
        );
        assert.match(r.stderr, /test failed\n$/, what);
      }
      const ok = writeConfig(`pid: ${dir}/s.pid\n${GOOD}`);
      assert.equal((await runStreamlb(target, ["-t", "-c", ok])).code, 0);
      assert.ok(!existsSync(`${dir}/s.pid`), "-t leaves no pid file behind");
    });

    test("-g adds global directives; a mistake in them is in the command line", async () => {
      const file = writeConfig(
        `events {}\nstream {\n  server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; }\n}\n`,
        "nginx.conf",
      );
      const bad = await runStreamlb(target, ["-t", "-c", file, "-g", "foo x;"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^streamlb: \[emerg\] unknown directive "foo" in command line\n/);
      const dir = dirname(file);
      const missing = await runStreamlb(target, ["-t", "-c", file, "-g", `pid ${dir}/no/x.pid;`]);
      assert.equal(missing.code, 1, "-g's pid is the one -t checks");
      assert.match(missing.stderr, /open\(\) ".*\/no\/x\.pid" failed/);
    });

    test("-e: a bad config is written to that log as well as to stderr", async () => {
      const file = writeConfig(GOOD.replace("proxy_pass", "proxy_pas"));
      const log = join(dirname(file), "early.log");
      const r = await runStreamlb(target, ["-c", file, "-e", log]);
      assert.equal(r.code, 1);
      assert.match(readFileSync(log, "utf8"), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#0: unknown key "proxy_pas"/);
      assert.match(r.stderr, /^streamlb: \[emerg\] unknown key "proxy_pas"/);
    });

    test("as nginx's test harness runs it: -p DIR/ -c nginx.conf -e error.log -g pid; stopped by -s quit", async () => {
      const [port] = await freePorts(1);
      const file = writeConfig(
        `daemon off;\nevents {}\nstream {\n  server { listen 127.0.0.1:${port}; proxy_pass 127.0.0.1:2; }\n}\n`,
        "nginx.conf",
      );
      const dir = dirname(file);
      mkdirSync(join(dir, "logs"));
      const flags = ["-p", `${dir}/`, "-e", "logs/error.log", "-g", "pid logs/g.pid;"];
      const [exe, ...args] = command(target);
      const lb = wrap(spawn(exe!, [...args, "-c", "nginx.conf", ...flags], { stdio: ["ignore", "pipe", "pipe"] }));
      try {
        // The harness, too, knows it is up when the pid file appears. It reads the pid only
        // later, to stop it: the file is created, then written, so wait for its line too.
        const pidFile = join(dir, "logs/g.pid");
        const pidLine = () => (existsSync(pidFile) ? readFileSync(pidFile, "utf8") : "");
        for (let i = 0; i < 200 && !pidLine().endsWith("\n"); i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(readFileSync(pidFile, "utf8").trim(), String(lb.pid));
        // The config names no error_log, so -e's file is the error log: a refused upstream shows there.
        await new Promise<void>((resolve) =>
          net.connect(port!, "127.0.0.1").on("close", () => resolve()).on("error", () => undefined)
        );
        const log = join(dir, "logs/error.log");
        for (let i = 0; i < 100 && !/connect\(\) failed/.test(readFileSync(log, "utf8")); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(readFileSync(log, "utf8"), /\[error\] \d+#0: \*1 connect\(\) failed \(111: Connection refused\)/);
        const quit = await runStreamlb(target, ["-c", "nginx.conf", ...flags, "-s", "quit"]);
        assert.equal(quit.code, 0, quit.stderr);
        assert.equal(await lb.exited(10_000), 0);
        assert.ok(!existsSync(pidFile), "the pid file is removed on exit");
      } finally {
        await lb.stop();
      }
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
      assert.match(
        r.stderr,
        /^streamlb: \[emerg\] open\(\) "\/nonexistent\/streamlb.yaml" failed \(2: No such file or directory\)\n$/,
      );
    });

    test("a port already in use is reported with nginx's reason, exit 1", async () => {
      const taken = await startNamedEcho("taken");
      try {
        const file = writeConfig(`stream:\n  servers:\n    - { listen: "${taken.address}", proxy_pass: "127.0.0.1:2" }\n`);
        const r = await runStreamlb(target, ["-c", file]);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(`^streamlb: \\[emerg\\] bind\\(\\) to ${taken.address} failed \\(98: Address already in use\\)$`, "m"),
        );
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
  test(
    "serves the embedded default: 8000 balances round robin to 6000 and 6002",
    { skip: !TARGETS.includes(target) },
    async () => {
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
    },
  );
});

/** The seed's demonstration: two chat servers behind the embedded default (fixed ports too). */
describe("streamlb demo", () => {
  const target: Target = TARGETS[0] ?? "node";
  test(`on ${target}: the first client lands on chat server 6000, the second on 6002`, async () => {
    const [exe, ...args] = command(target);
    const child = spawn(exe!, [...args, "demo"], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: writeConfig("").replace(/\/[^/]+$/, ""),
    });
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

/**
 * Node's permission model blocks process.binding, so the TCP handles the Node relay runs on
 * are out of reach: streamlb says so and runs its sessions on net.Socket streams instead.
 */
describe("streamlb on Node under the permission model", { skip: !TARGETS.includes("node") }, () => {
  test("falls back to net.Socket with a notice, and relays both ways with half-close", async () => {
    const [node, main] = command("node");
    // Node 20 spells it --experimental-permission; Node 22.13 and later, --permission.
    const flag = process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";
    const echo = await startNamedEcho("echo");
    const [port] = await freePorts(1);
    const file = writeConfig(`error_log: { path: stderr, level: info }
stream:
  servers:
    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}", proxy_half_close: on }
`);
    // Writes only where its pid file goes: a pid file that cannot be written stops the start.
    const allowWrite = `--allow-fs-write=${dirname(file)}`;
    const child = spawn(node!, [flag, "--allow-fs-read=*", allowWrite, "--no-warnings", main!, "-c", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lb = wrap(child);
    try {
      await lb.waitForLog(/listening on/, 20_000);
      assert.match(
        lb.log(),
        /\[notice\] \d+#0: Node refuses its TCP handles: process\.binding\("tcp_wrap"\) failed \(ERR_ACCESS_DENIED\); sessions run on net\.Socket streams instead/,
      );
      // 4 MiB out and back: more than the socket buffers hold, so backpressure has to work,
      // and the reply's end comes only after the client's FIN went through (half-close).
      const payload = new Uint8Array(4 << 20).map((_, i) => (i * 7) & 0xff);
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = net.connect({ port: port!, host: "127.0.0.1", allowHalfOpen: true });
        socket.on("data", (d: Buffer) => chunks.push(d));
        socket.on("end", () => {
          socket.destroy();
          resolve(Buffer.concat(chunks));
        });
        socket.on("error", reject);
        socket.end(payload);
      });
      assert.equal(reply.subarray(0, 5).toString(), "echo\n");
      assert.ok(
        Buffer.from(payload).equals(reply.subarray(5)),
        `the ${payload.length} bytes came back intact (got ${reply.length - 5})`,
      );
      assert.equal(await firstLine(port!), "echo");
    } finally {
      await lb.stop();
      await echo.close();
    }
    assert.doesNotMatch(lb.log(), /at \S+ \(/, "no stack trace");
  });

  test("with --pending-deprecation --throw-deprecation, where process.binding would end it, also falls back", async () => {
    const [node, main] = command("node");
    const echo = await startNamedEcho("echo");
    const [port] = await freePorts(1);
    const file = writeConfig(
      `error_log: { path: stderr, level: info }\nstream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
    );
    const child = spawn(node!, ["--pending-deprecation", "--throw-deprecation", main!, "-c", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lb = wrap(child);
    try {
      await lb.waitForLog(/listening on/, 20_000);
      assert.match(
        lb.log(),
        /\[notice\] \d+#0: Node's TCP handles \(process\.binding\) are deprecated under --pending-deprecation.*; sessions run on net\.Socket streams instead/,
      );
      assert.equal(await firstLine(port!), "echo");
      assert.equal(child.exitCode, null, "still running");
    } finally {
      await lb.stop();
      await echo.close();
    }
  });
});
