// Processes the benchmark starts, and what it reads about them from /proc. Every process is
// tracked here and stopped by its own PID (never by name), so nothing outlives a run.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

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

/** A CPU, or the CPUs a process may run on (`taskset -c 0,1`). */
export type Cpus = number | readonly number[];

/**
 * Starts `cmd` pinned to `cpus` with `taskset -c`. taskset execs the command, so the PID we
 * get is the measured process itself (its threads, and the workers a master forks or
 * spawns, inherit the pinning).
 */
export function start(name: string, cpus: Cpus, cmd: readonly string[], opts: { stdin?: boolean } = {}): Proc {
  const list = typeof cpus === "number" ? String(cpus) : cpus.join(",");
  const child = spawn("taskset", ["-c", list, ...cmd], {
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
export async function run(name: string, cpus: Cpus, cmd: readonly string[], timeoutMs: number): Promise<string> {
  const p = start(name, cpus, cmd);
  const timer = setTimeout(() => stop(p), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${p.output().slice(-2000)}`);
  return p.output();
}

/**
 * SIGTERM, then SIGKILL if it has not exited within `graceMs`. A master (nginx, streamlb with
 * worker_processes) stops its workers itself; any of its processes still there once it has
 * exited (it was killed first) get a SIGKILL by their PID.
 */
export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const workers = processTree(p.pid).slice(1).map((pid) => ({ pid, start: startTime(pid) }));
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
  for (const w of workers) {
    // The same start time: still that process, not a new one that got its PID.
    if (w.start !== null && startTime(w.pid) === w.start) {
      try {
        process.kill(w.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stop(p)));
}

/** /proc/PID/stat from field 3 (state) on; null once the process is gone. */
function statFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** utime + stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  if (!fields) throw new Error(`no /proc/${pid}/stat`);
  return statCpuSeconds(fields);
}

/** utime + stime from statFields(), in seconds: fields 14 and 15 of proc(5). */
function statCpuSeconds(fields: string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Field 22 of proc(5): with the PID, it names one process even when PIDs are reused. */
function startTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/**
 * The process and all its descendants (a master's workers), the process first and the rest
 * by PID: every process's parent, field 4 of /proc/PID/stat, read by scanning /proc.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (!ppid) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return [pid, ...out.slice(1).sort((a, b) => a - b)];
}

/** CPU seconds of each process of a tree, by "pid start-time" (processes gone are left out). */
export function treeCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of processTree(pid)) {
    const f = statFields(p);
    if (f) out.set(`${p} ${f[19]}`, statCpuSeconds(f));
  }
  return out;
}

/**
 * Summed VmRSS of a process and its descendants. Pages they share (a forked worker's copy of
 * its master's, the executable's text) count once per process, as `ps` would add them up.
 */
export function treeRssBytes(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += rssBytes(p);
    } catch {
      // exited between the scan and the read
    }
  }
  return sum;
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

/**
 * How many sockets LISTEN on 127.0.0.1:port (read from /proc, so no probe connection): more
 * than one when workers each bind the port with SO_REUSEPORT.
 */
export function listenCount(port: number): number {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const any = `00000000:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let n = 0;
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if ((f[1] === hex || f[1] === any) && f[3] === "0A") n++;
  }
  return n;
}

/** How many UDP sockets are bound to 127.0.0.1:port (or the wildcard). */
export function udpBoundCount(port: number): number {
  const p = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[1] === `0100007F:${p}` || f[1] === `00000000:${p}`) n++;
  }
  return n;
}

/** True when something LISTENs on 127.0.0.1:port. */
export const listening = (port: number): boolean => listenCount(port) > 0;

/**
 * Waits until every TCP port is listened on and every UDP port bound. With `workers` (a master and its N workers), until
 * the master has N descendants and each port N listening sockets (SO_REUSEPORT: one each).
 */
export async function waitListening(
  p: Proc,
  ports: readonly number[],
  timeoutMs = 20_000,
  workers = 0,
  udpPorts: readonly number[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // UDP: bound at all is enough (whether each worker has its own socket is the runtime's choice).
  const ready = () =>
    ports.every((port) => listenCount(port) >= Math.max(1, workers)) &&
    udpPorts.every((port) => udpBoundCount(port) > 0) &&
    (workers === 0 || processTree(p.pid).length > workers);
  while (!ready()) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited before listening: ${p.output().slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      const how = workers ? ` with ${workers} workers (${processTree(p.pid).length} processes)` : "";
      throw new Error(`${p.name} is not listening on ${ports.join(", ")}${how} after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
