// The process part of the Runtime interface: what a master and its workers ask of the OS
// (spawning, inherited listening sockets, one message channel each way, the binary upgrade).
// Split from runtime.ts, as runtime-tls.ts is; runtime.ts re-exports it.
import type { WorkerMessage } from "./worker-messages.ts";
export type { WorkerMessage };

/** What a master and its workers need from the OS: spawning, and one message channel each way. */
export interface ProcessSupport {
  /** Logical CPUs, for `worker_processes auto`. */
  cpuCount(): number;
  /** In a worker: its index and its channel to the master; null in a master or a lone process. */
  readonly worker: WorkerSide | null;
  /** Starts worker `index`: this program with the same arguments; it inherits `listeners`. */
  spawnWorker(index: number, listeners?: readonly InheritedListener[]): WorkerHandle;
  /**
   * A TCP socket (SO_REUSEPORT) for a master to keep and a worker to inherit (master-listeners.ts);
   * absent where the master cannot make one (Node, Deno). Throws with a system error.
   */
  openListener?(host: string | null, port: number): { readonly fd: number; close(): void };
  /** How workers share a port (SO_REUSEPORT, node:cluster), for the master's start notice. */
  readonly portSharing?: string;
  /**
   * How USR2 hands the listening sockets over: "fd", inherited (nginx's way); "SO_REUSEPORT",
   * the new binary binds its own beside them; null: it cannot (why: upgradeBlocked).
   */
  readonly upgradeBy?: "fd" | "SO_REUSEPORT" | null;
  readonly upgradeBlocked?: string;
  /** The listening socket inherited (from a master, or the upgraded binary) for this key, once. */
  takeInherited?(key: string): number | undefined;
  /** The inherited sockets nobody took (the new config has no such listen), and a closer. */
  untakenInherited?(): number[];
  closeFd?(fd: number): void;
  /** USR2: the executable on disk now, same arguments; it inherits `listeners` (fd mode). */
  spawnUpgrade?(listeners: readonly InheritedListener[]): UpgradeChild;
}

/** A listening socket handed to another process, by listen key ("*:8000"). */
export type InheritedListener = { readonly key: string; readonly fd: number };

/** The new binary a USR2 started. */
export interface UpgradeChild {
  readonly pid: number;
  /** Resolves when it exits (null: a signal ended it). */
  readonly exited: Promise<number | null>;
}

export interface WorkerSide {
  readonly index: number;
  send(message: WorkerMessage): void;
  onMessage(handler: (message: WorkerMessage) => void): void;
  /** The master went away (its end of the channel closed): an orphan worker should stop. */
  onClose(handler: () => void): void;
}

export interface WorkerHandle {
  readonly pid: number;
  send(message: WorkerMessage): void;
  onMessage(handler: (message: WorkerMessage) => void): void;
  signal(signal: SignalName): void;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** The signals nginx acts on, then those that would kill the process by default (core/signals.ts). */
export type SignalName =
  | "SIGINT"
  | "SIGTERM"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGWINCH"
  | "SIGALRM"
  | "SIGPIPE"
  | "SIGVTALRM"
  | "SIGPROF"
  | "SIGIO"
  | "SIGPWR"
  | "SIGXCPU"
  | "SIGXFSZ"
  | "SIGSTKFLT";
