// Smoke check of the benchmark driver: its quickest mode against the compiled binary, as one
// process and as a master with 2 workers (binary-w2), a few seconds. Skipped where the
// bench's tools are not installed (test/bench/run.sh installs them) or the machine has a
// single CPU.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const tools = ["taskset", "gcc", "wrk", "nginx", "openssl"];
const missing = tools.filter((t) => {
  try {
    execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
});
const skip = missing.length > 0
  ? `bench tools missing: ${missing.join(", ")}`
  : cpus().length < 2
  ? "needs 2 CPUs"
  : !existsSync("dist/streamlb")
  ? "dist/streamlb not built"
  : false;

test("bench --quick runs end to end against the binary, with 1 and 2 workers", { skip, timeout: 90_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "streamlb-bench-smoke-"));
  try {
    const r = spawnSync(
      process.execPath,
      [
        "dist/js/test/bench/bench.js",
        "--quick",
        "--targets",
        "binary,binary-w2",
        "--scenarios",
        "keepalive,rtt100,idle,sni,udp1,tlsresume",
        "--idle-conns",
        "200",
        "--out",
        out,
      ],
      { encoding: "utf8", timeout: 80_000 },
    );
    assert.equal(r.status, 0, `bench failed:\n${r.stderr}\n${r.stdout}`);
    const md = readdirSync(out).find((f) => f.endsWith(".md"));
    assert.ok(md, "no report written");
    const report = readFileSync(join(out, md), "utf8");
    assert.match(report, /\| binary\s+\|\s+[\d,.]+ \(–\)/, report);
    assert.match(report, /\| binary-w2\s+\|\s+[\d,.]+ \(–\)/, report);
    // Both workers carried load: the driver logs each process's CPU, the master first.
    const shares = /keepalive binary-w2 run 1: .*\(master\+workers (\d+)\+(\d+)\+(\d+)\)/.exec(r.stderr);
    assert.ok(shares, r.stderr);
    assert.ok(Number(shares[2]) > 0 && Number(shares[3]) > 0, `a worker had no CPU: ${shares[0]}`);
    assert.match(report, /KiB\/conn/);
    // The feature rows ran on both: ssl_preread routing, UDP and TLS resumption.
    for (const [row, unit] of [["sni", "conn/s"], ["udp1", "dgram/s"], ["tlsresume", "hs/s"]]) {
      const cells = new RegExp(`\\|\\s*${row} ${unit}`).test(report);
      assert.ok(cells, `no ${row} column in the report:\n${report}`);
    }
    for (const row of ["sni", "udp1", "tlsresume"]) {
      assert.match(r.stderr, new RegExp(`${row} binary run 1: [\\d.]+ `), r.stderr);
      assert.match(r.stderr, new RegExp(`${row} binary-w2 run 1: [\\d.]+ `), r.stderr);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
