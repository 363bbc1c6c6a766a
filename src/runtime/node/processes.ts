// Worker processes on Node. Where listen() honours `reusePort` (Node 22.12 and later), each
// worker is a plain child that binds the port itself with SO_REUSEPORT and the kernel spreads
// connections; elsewhere (Node 20) workers are node:cluster's, whose listen() gets the
// primary's socket, and the primary accepts and hands each connection on in turn. Either way
// the master and a worker talk over Node's IPC channel (process.send).
import { fork, spawn } from "node:child_process";
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import process from "node:process";
import type { ProcessSupport, UpgradeChild, WorkerHandle, WorkerMessage, WorkerSide } from "../../core/runtime.ts";
import { listenHonoursReusePort } from "./tcp-handles.ts";
import { WORKER_ENV, workerIndex } from "../pipe-channel.ts";
import { isWorkerMessage } from "../../core/worker-messages.ts";
import { Inherited, KEYS_ENV, NGINX_ENV, onDisk, upgradeEnv } from "../inherit.ts";

// Read once and out of the environment before any worker is started with it.
const inherited = new Inherited(process.env[NGINX_ENV], process.env[KEYS_ENV]);
delete process.env[NGINX_ENV];
delete process.env[KEYS_ENV];

/** USR2: this script again with the same Node flags and arguments; the listeners as fds 3, 4, ... */
function nodeSpawnUpgrade(listeners: readonly { key: string; fd: number }[]): UpgradeChild {
  const child = spawn(onDisk(process.execPath), [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: ["ignore", "inherit", "inherit", ...listeners.map((l) => l.fd)],
    env: { ...process.env, ...upgradeEnv(listeners.map((l) => l.key)) },
  });
  // The old binary may end before the new one, as nginx's old master does.
  child.unref();
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? null : code));
    child.once("error", () => resolve(1));
  });
  if (child.pid === undefined) throw new Error("the new binary could not be started");
  return { pid: child.pid, exited };
}

/** How this Node's workers share a port; the master names it in its start notice. */
export const portSharing: "SO_REUSEPORT" | "node:cluster" = listenHonoursReusePort ? "SO_REUSEPORT" : "node:cluster";

/**
 * Whether this process's listeners pass `reusePort`: only a worker the master started as a
 * plain child. A cluster worker's listen() goes through the primary, which must not get it.
 */
export function listensWithReusePort(): boolean {
  return listenHonoursReusePort && !cluster.isWorker;
}

function nodeWorkerSide(): WorkerSide | null {
  const index = workerIndex(process.env[WORKER_ENV]);
  if (index === null || !process.send) return null;
  // Listening from the start: an 'message' event without a listener would be lost, and the
  // master's replay arrives before the config is applied.
  const handlers: ((m: WorkerMessage) => void)[] = [];
  const early: WorkerMessage[] = [];
  process.on("message", (m: unknown) => {
    if (!isWorkerMessage(m)) return;
    if (handlers.length) { for (const h of handlers) h(m); }
    else early.push(m);
  });
  return {
    index,
    send: (m) => void process.send?.(m),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void process.on("disconnect", h),
  };
}

/** The parts of a cluster Worker and a forked ChildProcess that a WorkerHandle needs. */
interface Child {
  readonly pid: number | undefined;
  connected(): boolean;
  send(m: WorkerMessage): void;
  on(event: "message", h: (m: unknown) => void): void;
  once(event: "exit", h: (code: number | null, signal: string | null) => void): void;
  kill(sig: NodeJS.Signals): void;
}

function startChild(index: number): Child {
  const env = { ...process.env, [WORKER_ENV]: String(index) };
  if (listenHonoursReusePort) {
    // The same script, arguments and Node flags as the master, as cluster.fork would use.
    const child = fork(process.argv[1]!, process.argv.slice(2), { env, execArgv: process.execArgv });
    return {
      pid: child.pid,
      connected: () => child.connected,
      send: (m) => void child.send(m),
      on: (e, h) => void child.on(e, h),
      once: (e, h) => void child.once(e, h),
      kill: (sig) => void child.kill(sig),
    };
  }
  const worker = cluster.fork(env);
  return {
    pid: worker.process.pid,
    connected: () => worker.isConnected(),
    send: (m) => void worker.send(m),
    on: (e, h) => void worker.on(e, h),
    once: (e, h) => void worker.once(e, h),
    kill: (sig) => void worker.process.kill(sig),
  };
}

function nodeSpawnWorker(index: number): WorkerHandle {
  const child = startChild(index);
  return {
    pid: child.pid ?? 0,
    send: (m) => {
      if (child.connected()) child.send(m);
    },
    onMessage: (h) => child.on("message", (m) => isWorkerMessage(m) && h(m)),
    signal: (sig) => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    },
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ? null : code))),
  };
}

export const nodeProcesses: ProcessSupport = {
  cpuCount: () => availableParallelism(),
  worker: nodeWorkerSide(),
  spawnWorker: nodeSpawnWorker,
  portSharing,
  upgradeBy: "fd",
  takeInherited: (key) => inherited.take(key),
  spawnUpgrade: nodeSpawnUpgrade,
};
