// What cannot be a config ends startup at once with one line naming it, in the same words on
// every target: /dev/zero and fifos (which used to hang), directories, `-c ''`, binary data,
// files too large or unreadable.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { command, runStreamlb, type Target, TARGETS, tempDir } from "../support/streamlb.ts";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** `-t -c PATH` must fail with exactly this emerg line and nginx's "test failed" line. */
async function refused(target: Target, path: string, line: string): Promise<void> {
  const r = await runStreamlb(target, ["-t", "-c", path], 15_000);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `streamlb: [emerg] ${line}\nstreamlb: configuration file ${path} test failed\n`);
}

for (const target of TARGETS) {
  describe(`config input on ${target}`, () => {
    test("/dev/zero is refused at once, not read forever", async () => {
      await refused(
        target,
        "/dev/zero",
        `open() "/dev/zero" failed (not a regular file: a device, fifo or socket cannot be a config)`,
      );
    });

    test("a fifo nobody writes is refused at once, not waited on", async () => {
      const fifo = join(tempDir(), "streamlb.conf");
      execFileSync("mkfifo", [fifo]);
      await refused(target, fifo, `open() "${fifo}" failed (not a regular file: a device, fifo or socket cannot be a config)`);
    });

    test("a directory is named, in nginx's words", async () => {
      const dir = tempDir();
      await refused(target, dir, `pread() "${dir}" failed (21: Is a directory)`);
    });

    test("-c '' is refused as a missing name", async () => {
      const r = await runStreamlb(target, ["-c", ""]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `streamlb: option "-c" requires file name\n`);
    });

    test("a file over 16 MiB is refused without reading it", async () => {
      const big = join(tempDir(), "big.yaml");
      writeFileSync(big, "");
      truncateSync(big, 17 * 1024 * 1024);
      await refused(target, big, `open() "${big}" failed (larger than 16 MiB, the most a config file may be)`);
    });

    test("binary data: in a .conf the nginx reader's error; without an extension, neither format", async () => {
      const dir = tempDir();
      const garbage = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0xfe, 0x0a, 0x00]);
      const conf = join(dir, "garbage.conf");
      writeFileSync(conf, garbage);
      const r = await runStreamlb(target, ["-t", "-c", conf]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^streamlb: \\[emerg\\] .* in ${esc(conf)}:\\d+\\n`));
      assert.doesNotMatch(r.stderr, /YAML|yaml/);
      const bare = join(dir, "garbage");
      writeFileSync(bare, garbage);
      await refused(
        target,
        bare,
        `"${bare}" is neither an nginx config nor YAML: it holds binary data (line 1); name it .conf or .yaml to choose the reader`,
      );
    });

    test("an unreadable file: (13: Permission denied), run as nobody", { skip: !canDropToNobody() }, async () => {
      const dir = tempDir();
      chmodSync(dir, 0o755);
      const file = join(dir, "streamlb.yaml");
      writeFileSync(file, "stream: {}\n");
      chmodSync(file, 0o000);
      const [exe, ...args] = command(target);
      const child = spawn("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "env",
        "HOME=/tmp",
        exe!,
        ...args,
        "-t",
        "-c",
        file,
      ], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      clearTimeout(timer);
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `streamlb: [emerg] open() "${file}" failed (13: Permission denied)\nstreamlb: configuration file ${file} test failed\n`,
      );
    });
  });
}

function canDropToNobody(): boolean {
  try {
    execFileSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
