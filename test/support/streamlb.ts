// Starts the real streamlb as a child process: under Node, Deno, Bun, or as the compiled
// binary, so one test body checks all four.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export type Target = "node" | "deno" | "bun" | "binary";

const ALL: readonly Target[] = ["node", "deno", "bun", "binary"];

/** STREAMLB_TARGETS=node,bun narrows the matrix while developing. */
export const TARGETS: readonly Target[] = process.env["STREAMLB_TARGETS"]
  ? (process.env["STREAMLB_TARGETS"].split(",") as Target[]).filter((t) => ALL.includes(t))
  : ALL;

const ROOT = process.cwd();

export function command(target: Target): string[] {
  const bin = (name: string) => resolve(ROOT, "node_modules/.bin", name);
  switch (target) {
    case "node":
      return [process.execPath, resolve(ROOT, "dist/js/src/main.node.js")];
    case "deno":
      return [bin("deno"), "run", "-A", resolve(ROOT, "src/main.deno.ts")];
    case "bun":
      return [bin("bun"), resolve(ROOT, "src/main.bun.ts")];
    case "binary":
      return [resolve(ROOT, "dist/streamlb")];
  }
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "streamlb-test-"));
}

export function writeConfig(text: string, name = "streamlb.yaml"): string {
  const file = join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}

export interface Streamlb {
  readonly pid: number;
  /** Ports it listens on, in the order the notice line lists them. */
  readonly ports: number[];
  /** Everything it wrote to stderr so far. */
  log(): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The balancer's resident memory, from /proc. */
  rssBytes(): number;
  signal(sig: NodeJS.Signals): void;
  /** Waits for exit; kills it (SIGKILL) if it takes longer than timeoutMs. */
  exited(timeoutMs?: number): Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs `streamlb -c FILE` and waits until it says it listens. */
export async function startStreamlb(
  target: Target,
  configFile: string,
  extraArgs: string[] = [],
  /** When error_log goes to a file, the listening notice is read from there. */
  logFile?: string,
): Promise<Streamlb> {
  const [exe, ...args] = command(target);
  const child = spawn(exe!, [...args, "-c", configFile, ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
  const proc = wrap(child);
  try {
    const line = logFile
      ? await waitForFile(logFile, /listening on (.*)$/m, 20_000)
      : await proc.waitForLog(/listening on (.*)$/m, 20_000);
    const ports = [...line.matchAll(/:(\d+)(?:,|$)/g)].map((m) => Number(m[1]));
    return Object.assign(proc, { ports });
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

/** Runs streamlb to completion (for -t, -v, bad configs). */
export function runStreamlb(
  target: Target,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [exe, ...rest] = command(target);
  const child = spawn(exe!, [...rest, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d));
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`streamlb ${args.join(" ")} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => resolve({ code, stdout, stderr }), 50);
    });
  });
}

export function wrap(child: ChildProcess): Omit<Streamlb, "ports"> {
  let stderr = "";
  const waiters = new Set<() => void>();
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
    for (const w of waiters) w();
  });
  child.stdout!.resume();
  return {
    pid: child.pid!,
    log: () => stderr,
    waitForLog(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stderr);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m[0]);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        void exit.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`streamlb exited before logging ${pattern}; log:\n${stderr}`));
          }
        });
        check();
      });
    },
    rssBytes() {
      const status = readProc(child.pid!);
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!m) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(m[1]) * 1024;
    },
    signal: (sig) => void child.kill(sig),
    exited(timeoutMs = 10_000) {
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      return exit.finally(() => clearTimeout(timer));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function waitForFile(path: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      // not created yet
    }
    const m = pattern.exec(text);
    if (m) return m[0];
    if (Date.now() > until) throw new Error(`no line matching ${pattern} in ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function readProc(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, "utf8");
}

/** Whether a process (a balancer, a worker) still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
