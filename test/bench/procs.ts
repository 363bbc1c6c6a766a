// Processes the benchmark starts, and what it reads about them from /proc. Every process is
// tracked here and stopped by its own PID (never by name), so nothing outlives a run.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (capped), for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  readonly exited: Promise<number | string>;
}

const live = new Set<Proc>();
const OUTPUT_CAP = 64 * 1024;

/**
 * Starts `cmd` pinned to `cpu` with `taskset -c`. taskset execs the command, so the PID we
 * get is the measured process itself (and its threads inherit the pinning).
 */
export function start(name: string, cpu: number, cmd: readonly string[], opts: { stdin?: boolean } = {}): Proc {
  const child = spawn("taskset", ["-c", String(cpu), ...cmd], {
    stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let out = "";
  const collect = (d: Buffer) => {
    if (out.length < OUTPUT_CAP) out += d.toString();
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.on("error", (err) => {
      out += String(err);
      resolve("spawn-error");
    });
  });
  const proc: Proc = { name, pid: child.pid ?? -1, child, output: () => out, exited };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Runs a load generator to completion; rejects if it exits non-zero or overruns `timeoutMs`. */
export async function run(name: string, cpu: number, cmd: readonly string[], timeoutMs: number): Promise<string> {
  const p = start(name, cpu, cmd);
  const timer = setTimeout(() => stop(p), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${p.output().slice(-2000)}`);
  return p.output();
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stop(p)));
}

/** utime + stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5)
  return ticks / CLOCK_TICKS;
}

/** sysconf(_SC_CLK_TCK); 100 on every Linux we target, read once from getconf when present. */
let CLOCK_TICKS = 100;
export function setClockTicks(n: number): void {
  if (n > 0) CLOCK_TICKS = n;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** True when something LISTENs on 127.0.0.1:port (read from /proc, so no probe connection). */
export function listening(port: number): boolean {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const any = `00000000:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if ((f[1] === hex || f[1] === any) && f[3] === "0A") return true;
  }
  return false;
}

export async function waitListening(p: Proc, ports: readonly number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ports.every(listening)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited before listening: ${p.output().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${p.name} is not listening on ${ports.join(", ")} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
