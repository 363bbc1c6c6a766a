// Worker processes on Bun: this program again, talking over its stdin and stdout pipes.
import { availableParallelism } from "node:os";
import type { ProcessSupport, WorkerHandle, WorkerMessage, WorkerSide } from "../../core/runtime.ts";
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

/** Worker N: this program again. A compiled binary is its own executable; argv[1] is internal. */
function bunSpawnWorker(index: number): WorkerHandle {
  const compiled = Bun.argv[1]?.startsWith("/$bunfs/") ?? false;
  const cmd = compiled ? [process.execPath, ...Bun.argv.slice(2)] : [process.execPath, ...Bun.argv.slice(1)];
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, [WORKER_ENV]: String(index) },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
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
};
