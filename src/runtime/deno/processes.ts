// Worker processes on Deno: the same script again with the master's own permissions, talking
// over its stdin and stdout pipes.
import type { ProcessSupport, UpgradeChild, WorkerHandle, WorkerMessage, WorkerSide } from "../../core/runtime.ts";
import { encodeMessage, readMessages, WORKER_ENV, workerIndex } from "../pipe-channel.ts";
import { onDisk } from "../inherit.ts";
import { writeAllSync } from "./write-all.ts";

const encoder = new TextEncoder();

type MessageHandler = (message: WorkerMessage) => void;

/** This process as worker N: messages come on stdin, go out on stdout. */
function denoWorkerSide(): WorkerSide | null {
  // Asked first, so a lone process without --allow-env never gets a permission prompt.
  if (Deno.permissions.querySync({ name: "env", variable: WORKER_ENV }).state !== "granted") return null;
  const index = workerIndex(Deno.env.get(WORKER_ENV));
  if (index === null) return null;
  const handlers: MessageHandler[] = [];
  const closers: (() => void)[] = [];
  const early: WorkerMessage[] = [];
  void readMessages(
    Deno.stdin.readable,
    (m) => (handlers.length ? handlers.forEach((h) => h(m)) : early.push(m)),
    () => undefined,
  ).then(() => closers.forEach((c) => c()));
  return {
    index,
    send: (m) => writeAllSync(Deno.stdout, encodeMessage(m)),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void closers.push(h),
  };
}

/** The master's own permissions, no more: a worker must not get what its master was denied. */
function grantedFlags(): string[] {
  const names = ["net", "read", "write", "env", "sys", "run", "ffi"] as const;
  return names.filter((name) => Deno.permissions.querySync({ name }).state === "granted").map((name) => `--allow-${name}`);
}

/** Worker N: the same script again, with --unstable-net for Deno.listen({reusePort}). */
function denoSpawnWorker(index: number): WorkerHandle {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...grantedFlags(), "--unstable-net", Deno.mainModule, ...Deno.args],
    env: { [WORKER_ENV]: String(index) },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const handlers: MessageHandler[] = [];
  void readMessages(child.stdout, (m) => handlers.forEach((h) => h(m)), (line) => writeAllSync(Deno.stdout, line));
  const writer = child.stdin.getWriter();
  let writing: Promise<void> = Promise.resolve();
  return {
    pid: child.pid,
    send: (m) => {
      // In order, one write at a time; a closed pipe means it is exiting.
      writing = writing.then(() => writer.write(encoder.encode(encodeMessage(m)))).catch(() => undefined);
    },
    onMessage: (h) => void handlers.push(h),
    signal: (sig) => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    },
    exited: child.status.then((s) => (s.signal ? null : s.code)),
  };
}

/**
 * Deno cannot listen on an inherited descriptor, so a new binary binds beside the old one with
 * SO_REUSEPORT, which Deno.listen allows only under --unstable-net. Asking by trying would end
 * the process (Deno exits on an unstable API without its flag); Deno.listenDatagram, an API
 * of the same flag, exists only under it.
 */
function canReusePort(): boolean {
  return typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

/** USR2: the same script again with --unstable-net; it binds beside this one with SO_REUSEPORT. */
function denoSpawnUpgrade(): UpgradeChild {
  const child = new Deno.Command(onDisk(Deno.execPath()), {
    args: ["run", ...grantedFlags(), "--unstable-net", Deno.mainModule, ...Deno.args],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // The old binary may end before the new one, as nginx's old master does.
  child.unref();
  return { pid: child.pid, exited: child.status.then((s) => (s.signal ? null : s.code)) };
}

export const denoProcesses: ProcessSupport = {
  cpuCount: () => navigator.hardwareConcurrency,
  worker: denoWorkerSide(),
  spawnWorker: denoSpawnWorker,
  get upgradeBy() {
    return canReusePort() ? "SO_REUSEPORT" : null;
  },
  upgradeBlocked:
    "Deno cannot pass a listening socket on, and binds beside one (SO_REUSEPORT) only with --unstable-net: start streamlb with it",
  spawnUpgrade: denoSpawnUpgrade,
};
