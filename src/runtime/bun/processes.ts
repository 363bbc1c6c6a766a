// Worker processes on Bun: this program again, talking over its stdin and stdout pipes, with
// the master's listening sockets as descriptors 3, 4, ...
import { closeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { canOpenListenSocket, openListenSocket } from "./listen-socket.ts";
import type {
  InheritedListener,
  ProcessSupport,
  UpgradeChild,
  WorkerHandle,
  WorkerMessage,
  WorkerSide,
} from "../../core/runtime.ts";
import { Inherited, KEYS_ENV, NGINX_ENV, onDisk, upgradeEnv } from "../inherit.ts";
import { encodeMessage, readMessages, WORKER_ENV, workerIndex } from "../pipe-channel.ts";

type MessageHandler = (message: WorkerMessage) => void;

/** This process as worker N: messages come on stdin, go out on stdout. */
function bunWorkerSide(): WorkerSide | null {
  const index = workerIndex(process.env[WORKER_ENV]);
  if (index === null) return null;
  const handlers: MessageHandler[] = [];
  const closers: (() => void)[] = [];
  // Started at once so no message waits on a handler; those that come first are kept.
  const early: WorkerMessage[] = [];
  void readMessages(
    Bun.stdin.stream(),
    (m) => (handlers.length ? handlers.forEach((h) => h(m)) : early.push(m)),
    () => undefined,
  ).then(() => closers.forEach((c) => c()));
  return {
    index,
    send: (m) => void process.stdout.write(encodeMessage(m)),
    onMessage: (h) => {
      handlers.push(h);
      early.splice(0).forEach(h);
    },
    onClose: (h) => void closers.push(h),
  };
}

// Read once and out of the environment before any worker is started with it.
const inherited = new Inherited(process.env[NGINX_ENV], process.env[KEYS_ENV]);
delete process.env[NGINX_ENV];
delete process.env[KEYS_ENV];

/** This program again. A compiled binary is its own executable; argv[1] is internal. */
function selfCommand(): string[] {
  const compiled = Bun.argv[1]?.startsWith("/$bunfs/") ?? false;
  const exe = onDisk(process.execPath);
  return compiled ? [exe, ...Bun.argv.slice(2)] : [exe, ...Bun.argv.slice(1)];
}

/** USR2: the executable on disk now (the new binary), the listeners as descriptors 3, 4, ... */
function bunSpawnUpgrade(listeners: readonly { key: string; fd: number }[]): UpgradeChild {
  const proc = Bun.spawn(selfCommand(), {
    env: { ...process.env, ...upgradeEnv(listeners.map((l) => l.key)) },
    stdio: ["ignore", "inherit", "inherit", ...listeners.map((l) => l.fd)],
  });
  // The old binary may end before the new one, as nginx's old master does.
  proc.unref();
  return { pid: proc.pid, exited: proc.exited.then((code) => (proc.signalCode ? null : code)) };
}

/** Worker N: this program again. */
function bunSpawnWorker(index: number, listeners: readonly InheritedListener[] = []): WorkerHandle {
  const cmd = selfCommand();
  const proc = Bun.spawn(cmd, {
    env: {
      ...process.env,
      [WORKER_ENV]: String(index),
      ...(listeners.length > 0 && upgradeEnv(listeners.map((l) => l.key))),
    },
    stdio: ["pipe", "pipe", "inherit", ...listeners.map((l) => l.fd)],
  });
  const handlers: MessageHandler[] = [];
  void readMessages(proc.stdout, (m) => handlers.forEach((h) => h(m)), (line) => void process.stdout.write(line));
  return {
    pid: proc.pid,
    send: (m) => {
      try {
        proc.stdin.write(encodeMessage(m));
        void proc.stdin.flush();
      } catch {
        // it is exiting; the master learns that from `exited`
      }
    },
    onMessage: (h) => void handlers.push(h),
    signal: (sig) => {
      try {
        process.kill(proc.pid, sig);
      } catch {
        // already gone
      }
    },
    exited: proc.exited.then((code) => (proc.signalCode ? null : code)),
  };
}

export const bunProcesses: ProcessSupport = {
  cpuCount: () => availableParallelism(),
  worker: bunWorkerSide(),
  spawnWorker: bunSpawnWorker,
  upgradeBy: "fd",
  ...(canOpenListenSocket() && { openListener: openListenSocket }),
  takeInherited: (key) => inherited.take(key),
  untakenInherited: () => inherited.untaken(),
  closeFd: (fd) => closeSync(fd),
  spawnUpgrade: bunSpawnUpgrade,
};
