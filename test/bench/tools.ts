// The machine's tools as the bench sees them, and the C load tools it compiles on the fly
// (gcc -O2) beside the build, so nothing prebuilt is fetched.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Tools } from "./scenario-types.ts";

export function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A tool's version from its output (several print it to stderr, iperf exits 1). */
export function versionOf(cmd: string, args: readonly string[], pattern: RegExp): string {
  const text = execFileSync("sh", ["-c", `"${cmd}" ${args.join(" ")} 2>&1; true`], { encoding: "utf8" });
  return pattern.exec(text)?.[1] ?? (text.trim().split("\n")[0] || "unknown");
}

/** Compiles test/bench/NAME.c to dist/bench/NAME when it is missing or older than its source. */
function compile(root: string, name: string, libs: readonly string[] = []): string {
  const src = join(root, `test/bench/${name}.c`);
  const exe = join(root, `dist/bench/${name}`);
  if (existsSync(exe) && statSync(exe).mtimeMs >= statSync(src).mtimeMs) return exe;
  mkdirSync(dirname(exe), { recursive: true });
  execFileSync("gcc", ["-O2", "-Wall", "-o", exe, src, ...libs], { stdio: "inherit" });
  return exe;
}

/**
 * Builds the load tools. tlstool needs libssl-dev (run.sh installs it); without it the TLS
 * scenarios fail with that reason and every other scenario still runs.
 */
export function buildTools(root: string, log: (line: string) => void): Tools {
  let tlstool: string | null = null;
  try {
    tlstool = compile(root, "tlstool", ["-pthread", "-lssl", "-lcrypto"]);
  } catch (e) {
    log(`bench: tlstool did not build (libssl-dev missing?): ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    tcptool: compile(root, "tcptool"),
    conntool: compile(root, "conntool"),
    udptool: compile(root, "udptool"),
    tlstool,
  };
}

/**
 * A self-signed ECDSA P-256 certificate for the TLS listeners, made in the run's temp dir, and
 * the same certificate and key in one file for HAProxy's `crt`.
 */
export function makeCertificate(dir: string): { cert: string; key: string; pem: string } {
  const cert = join(dir, "bench-cert.pem");
  const key = join(dir, "bench-key.pem");
  const pem = join(dir, "bench-haproxy.pem");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=bench.test",
  ], { stdio: "ignore" });
  execFileSync("sh", ["-c", `cat "${cert}" "${key}" > "${pem}"`]);
  return { cert, key, pem };
}
