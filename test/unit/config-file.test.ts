// Reading a config file defensively: what cannot be a config ends with one line naming it,
// the same on every runtime, and never a hang (/dev/zero, a fifo) or a huge read.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadNginxConfig } from "../../src/core/config/read-nginx/reader.ts";
import { CONFIG_FILE_LIMIT, ConfigFileError, readConfigFile } from "../../src/runtime/config-file.ts";
import { configFiles } from "../../src/runtime/files.ts";

function failure(path: string): string {
  try {
    readConfigFile(path);
  } catch (e) {
    assert.ok(e instanceof ConfigFileError, `a ConfigFileError, not ${String(e)}`);
    return e.message;
  }
  assert.fail(`${path} was read`);
}

describe("config files read defensively", () => {
  const dir = mkdtempSync(join(tmpdir(), "streamlb-cfgfile-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a regular file is read as UTF-8 text", () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(file, "pid: /run/x.pid # é\n");
    assert.equal(readConfigFile(file), "pid: /run/x.pid # é\n");
  });

  test("a file whose size the kernel reports as 0 (/proc) is still read to its end", () => {
    assert.match(readConfigFile("/proc/self/status"), /^Name:/);
  });

  test("missing, a directory, a device: nginx's line with the path", () => {
    assert.equal(failure(join(dir, "none.conf")), `open() "${join(dir, "none.conf")}" failed (2: No such file or directory)`);
    assert.equal(failure(dir), `pread() "${dir}" failed (21: Is a directory)`);
    assert.equal(
      failure("/dev/zero"),
      `open() "/dev/zero" failed (not a regular file: a device, fifo or socket cannot be a config)`,
    );
    assert.equal(failure(""), `open() "" failed (an empty file name)`);
  });

  test("a fifo is refused at once, not waited on", { skip: !hasMkfifo() }, () => {
    const fifo = join(dir, "fifo.conf");
    execFileSync("mkfifo", [fifo]);
    assert.match(failure(fifo), /^open\(\) ".*fifo\.conf" failed \(not a regular file/);
  });

  test("a file over the limit is refused before it is read", () => {
    const big = join(dir, "big.conf");
    writeFileSync(big, "");
    truncateSync(big, CONFIG_FILE_LIMIT + 1); // sparse: no disk used
    assert.equal(failure(big), `open() "${big}" failed (larger than 16 MiB, the most a config file may be)`);
    truncateSync(big, CONFIG_FILE_LIMIT);
    assert.equal(readConfigFile(big).length, CONFIG_FILE_LIMIT);
  });

  test("an include gets the same guards, in the nginx reader's own open() line", () => {
    const main = join(dir, "nginx.conf");
    assert.throws(
      () => loadNginxConfig("events {}\ninclude /dev/zero;\n", main, { files: configFiles }),
      { message: `open() "/dev/zero" failed (not a regular file: a device, fifo or socket cannot be a config) in ${main}:2` },
    );
    assert.throws(
      () => loadNginxConfig(`events {}\ninclude ${dir};\n`, main, { files: configFiles }),
      { message: `open() "${dir}" failed (21: Is a directory) in ${main}:2` },
    );
  });
});

function hasMkfifo(): boolean {
  try {
    execFileSync("mkfifo", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
