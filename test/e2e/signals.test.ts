// Signals nginx does not act on must not end the process: WINCH with no upgrade under way is
// logged at [notice] (USR2 starts one: upgrade.test.ts), and the ones that kill by default
// (ALRM, VTALRM, ...) are ignored with a line. A pid file that cannot be written stops the start, as in nginx.
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { freePorts, startNamedEcho } from "../support/backends.ts";
import { runStreamlb, startStreamlb, TARGETS, tempDir, writeConfig } from "../support/streamlb.ts";

const NUMBERS: Record<string, number> = {
  SIGWINCH: 28,
  SIGALRM: 14,
  SIGPIPE: 13,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGIO: 29,
  SIGPWR: 30,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGSTKFLT: 16,
};

/** A connection through the balancer: the backend's greeting, then an echo. */
async function echoes(port: number, held?: net.Socket): Promise<boolean> {
  const socket = held ?? net.connect(port, "127.0.0.1");
  const got = await new Promise<string>((resolve) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d;
      if (text.endsWith("ping\n")) done();
    };
    const done = () => {
      socket.off("data", onData);
      resolve(text);
    };
    socket.on("data", onData);
    socket.once("close", done);
    socket.once("error", done);
    socket.write("ping\n");
  });
  if (!held) socket.destroy();
  return got.endsWith("ping\n");
}

for (const target of TARGETS) {
  describe(`signals on ${target}`, () => {
    test("WINCH, ALRM and the other fatal-by-default signals: logged, still serving", async () => {
      const echo = await startNamedEcho("sig");
      const [port] = await freePorts(1);
      const dir = tempDir();
      const file = writeConfig(
        `pid: ${join(dir, "streamlb.pid")}\nerror_log: { path: stderr, level: notice }\n` +
          `stream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "${echo.address}" }\n`,
      );
      const lb = await startStreamlb(target, file);
      const held = net.connect(port!, "127.0.0.1");
      try {
        await new Promise((resolve) => held.once("data", resolve)); // the greeting
        const onBun = target === "bun" || target === "binary";
        // Bun cannot catch SIGSTKFLT (process.on takes it and never calls back): it still kills.
        const signals = Object.keys(NUMBERS).filter((s) => !(s === "SIGSTKFLT" && onBun));
        for (const sig of signals) {
          lb.signal(sig as NodeJS.Signals);
          // Bun's engine keeps SIGPWR for itself (it never reaches JavaScript, nor kills): the
          // echoes below show it survived.
          if (sig === "SIGPWR" && onBun) continue;
          const what = sig === "SIGWINCH" ? "no new binary is running, ignoring" : "ignoring";
          await lb.waitForLog(new RegExp(`\\[notice\\] \\d+#0: signal ${NUMBERS[sig]} \\(${sig}\\) received, ${what}\\n`));
        }
        assert.ok(await echoes(port!, held), "the session held through the signals still echoes");
        assert.ok(await echoes(port!), "a new client is served");
      } finally {
        held.destroy();
        await lb.stop();
        await echo.close();
      }
    });

    test("a pid file that cannot be written: [emerg] open() failed, exit 1", async () => {
      const [port] = await freePorts(1);
      const pid = join(tempDir(), "missing", "streamlb.pid");
      const file = writeConfig(
        `pid: ${pid}\nstream:\n  servers:\n    - { listen: "127.0.0.1:${port}", proxy_pass: "127.0.0.1:2" }\n`,
      );
      const r = await runStreamlb(target, ["-c", file]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `streamlb: [emerg] open() "${pid}" failed (2: No such file or directory)\n`);
    });
  });
}
