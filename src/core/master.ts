// The master of `worker_processes N` (N > 1), as nginx's: it opens the listening sockets, one
// per worker (master-listeners.ts), and spawns N workers that inherit them and each run the
// whole balancer (where the master cannot, the workers bind the same ports themselves:
// SO_REUSEPORT, or node:cluster), relays no traffic,
// owns the pid file, passes signals on, starts a new worker when one dies, relays the health
// verdicts of worker 0 (the only one that probes) and the state workers share (worker-hub.ts),
// and runs the binary upgrade (upgrade.ts).
import { ConfigError } from "./config/errors.ts";
import type { Config, LogLevel } from "./config/model.ts";
import { MainErrorLogs, mainErrorLogs } from "./error-log-sinks.ts";
import { removePidFile, writePidFile } from "./pid-file.ts";
import { keepAliveOnSignals } from "./signals.ts";
import { createLogger, type LevelLogger } from "./log.ts";
import type { ProcessSupport, Runtime, SignalName, WorkerHandle, WorkerMessage } from "./runtime.ts";
import { WorkerHub } from "./worker-hub.ts";
import { newTlsSecret, ticketKeysWarning } from "./tls-secret.ts";
import { BinaryUpgrade } from "./upgrade.ts";
import { MasterListeners } from "./master-listeners.ts";
import { VERSION } from "../version.ts";

export interface MasterOptions {
  readonly runtime: Runtime;
  readonly processes: ProcessSupport;
  readonly config: Config;
  readonly count: number;
  /** Re-reads the config: a reload is passed on only when it parses. */
  readonly load: (warn: (message: string) => void) => Promise<Config>;
  readonly pidFile: string | null;
}

/** worker_processes as a number (`auto` = the CPUs). */
export function workerCount(config: Config, processes: ProcessSupport | undefined): number {
  if (!processes) return 1;
  const n = config.workerProcesses === "auto" ? processes.cpuCount() : config.workerProcesses;
  return Math.max(1, n);
}

/** A worker that dies within this long of its start is restarted only after this long (no spin). */
const RESPAWN_BACKOFF_MS = 1_000;

export class Master {
  private readonly runtime: Runtime;
  private readonly logger: LevelLogger;
  /** The main error_log lines, once open; until then lines go to stderr. */
  private mainLogs: MainErrorLogs | null = null;
  private readonly workers = new Map<number, { handle: WorkerHandle; startedMs: number; ready: boolean }>();
  private pidWritten = false;
  /** The live workers' channels, by index, for the hub. */
  private readonly handles = new Map<number, WorkerHandle>();
  /** The state workers share: peer counts, passive failures, counters, status. */
  private readonly hub = new WorkerHub(() => this.handles);
  /** Last verdict per (upstream, server), replayed to a worker that starts later. */
  private readonly health = new Map<string, WorkerMessage>();
  private stopping = false;
  /** This config generation's TLS secret (tls-secret.ts), for the workers and no one else. */
  private tlsSecret = newTlsSecret();
  /** The sockets the workers inherit; USR2 passes them to the new binary. */
  private readonly listeners: MasterListeners;
  /** USR2/WINCH; where the master holds no sockets, the new binary's workers bind beside these. */
  private readonly upgrade: BinaryUpgrade;
  /** After WINCH: workers quit and are not replaced until a rollback. */
  private winched = false;
  private everReady = false;
  /** exit() ran: the last worker's exit and a stop with no workers left may both call it. */
  private ended = false;
  private done!: (code: number) => void;

  constructor(private readonly options: MasterOptions) {
    this.runtime = options.runtime;
    const write = (line: string, level: LogLevel) =>
      this.mainLogs ? this.mainLogs.set.write(line, level) : this.runtime.writeStderr(line);
    this.logger = createLogger(write, options.config.errorLog.level, this.runtime.pid);
    this.listeners = new MasterListeners(options.processes, options.count);
    const cluster = options.processes.portSharing === "node:cluster" && !this.listeners.supported;
    this.upgrade = new BinaryUpgrade(
      this.runtime,
      options.processes,
      this.logger,
      options.pidFile,
      {
        listeners: () => this.listeners.all(),
        // The workers quit; the sockets stay open here, and what they queue goes to the new ones.
        stopAccepting: async () => {
          this.winched = true;
          for (const w of this.workers.values()) w.handle.signal("SIGQUIT");
        },
        resumeAccepting: async () => {
          this.winched = false;
          if (this.stopping) return;
          for (let i = 0; i < this.options.count; i++) if (!this.workers.has(i)) this.spawn(i);
        },
      },
      cluster
        ? "node:cluster workers take their connections from this master's one socket, which cannot be passed on (Node 22.12 and later use SO_REUSEPORT)"
        : null,
    );
  }

  /** Resolves with the exit code once every worker has exited after quit/stop. */
  async run(): Promise<number> {
    const finished = new Promise<number>((resolve) => (this.done = resolve));
    const forward = (signal: SignalName) => () => this.forward(signal);
    // HUP after a binary upgrade's WINCH rolls back (workers again) rather than reloads.
    this.runtime.onSignal("SIGHUP", () => void (this.upgrade.winched ? this.upgrade.rollback() : this.reload()));
    this.runtime.onSignal("SIGQUIT", forward("SIGQUIT"));
    this.runtime.onSignal("SIGTERM", forward("SIGTERM"));
    this.runtime.onSignal("SIGINT", forward("SIGINT"));
    this.runtime.onSignal("SIGUSR1", () => {
      void this.mainLogs?.reopen();
      for (const w of this.workers.values()) w.handle.signal("SIGUSR1");
    });
    keepAliveOnSignals(this.runtime, this.logger, {
      usr2: () => void this.upgrade.start(),
      winch: () => void this.upgrade.winch(),
    });
    this.mainLogs = await MainErrorLogs.open(this.runtime, mainErrorLogs(this.options.config));
    this.logger.setLevel(this.mainLogs.set.level);
    // nginx writes the pid file once its sockets listen; here the workers open them, so the
    // file appears when every worker is ready (tools such as nginx's test harness connect as
    // soon as it exists). Whether it can be written is known before any worker starts, as in
    // nginx: a master that cannot write it does not start.
    const pidFile = this.options.pidFile;
    try {
      await writePidFile(this.runtime, pidFile && `${pidFile}.new`);
      if (pidFile) await this.runtime.removeFile(`${pidFile}.new`);
    } catch (e) {
      this.runtime.writeStderr(`streamlb: [emerg] ${e instanceof Error ? e.message : String(e)}\n`);
      await this.mainLogs?.close();
      return 1;
    }
    try {
      this.listeners.apply(this.options.config, true);
    } catch (e) {
      this.logger.log("emerg", e instanceof Error ? e.message : String(e));
      await this.mainLogs?.close();
      return 1;
    }
    this.warnUnsharedTickets(this.options.config);
    for (let i = 0; i < this.options.count; i++) this.spawn(i);
    const sharing = this.listeners.supported ? "the master's sockets" : this.options.processes.portSharing;
    this.logger.log(
      "notice",
      `streamlb/${VERSION} master on ${this.runtime.name}: ${this.options.count} worker processes${
        sharing ? ` sharing ports through ${sharing}` : ""
      }`,
    );
    return finished;
  }

  private spawn(index: number): void {
    const handle = this.options.processes.spawnWorker(index, this.listeners.forWorker(index));
    const entry = { handle, startedMs: Date.now(), ready: false };
    this.workers.set(index, entry);
    this.handles.set(index, handle);
    this.logger.log("notice", `start worker process ${handle.pid}`);
    handle.onMessage((m) => {
      if (this.hub.receive(index, m)) return;
      if (m.type === "ready") {
        // Only now: a message sent before the worker's code listens is lost (node:cluster on
        // Node 20 drops it). Setups the worker made already take the keys when they come.
        // Worker 0 probes; the others start from its latest verdicts and the others' counts.
        this.sendTlsSecret(handle);
        if (index !== 0) { for (const v of this.health.values()) handle.send(v); }
        this.hub.joined(index);
        entry.ready = true;
        this.everReady = true;
        if (!this.pidWritten && [...this.workers.values()].every((w) => w.ready)) {
          this.pidWritten = true;
          writePidFile(this.runtime, this.options.pidFile).catch((e: unknown) => {
            this.logger.log("emerg", e instanceof Error ? e.message : String(e));
            this.forward("SIGQUIT");
          });
        }
      } else if (m.type === "health") {
        this.health.set(`${m.upstream}\n${m.server}`, m);
        for (const [i, w] of this.workers) if (i !== index) w.handle.send(m);
      }
    });
    void handle.exited.then((code) => this.exited(index, entry, code));
  }

  private exited(index: number, entry: { handle: WorkerHandle; startedMs: number; ready: boolean }, code: number | null): void {
    if (this.workers.get(index) !== entry) return;
    this.workers.delete(index);
    this.handles.delete(index);
    this.hub.left(index);
    const how = code === null ? "was killed by a signal" : `exited with code ${code}`;
    if (this.stopping || this.winched) {
      this.logger.log("notice", `worker process ${entry.handle.pid} ${how}`);
      if (this.stopping && this.workers.size === 0) void this.exit(0);
      return;
    }
    this.logger.log("alert", `worker process ${entry.handle.pid} ${how}`);
    if (!entry.ready && !this.everReady) {
      // It never listened (a port taken, a bad file): respawning would fail the same way.
      this.logger.log("emerg", "a worker process could not start; stopping");
      this.forward("SIGINT");
      this.stopping = true;
      if (this.workers.size === 0) void this.exit(1);
      return;
    }
    const wait = Date.now() - entry.startedMs < RESPAWN_BACKOFF_MS ? RESPAWN_BACKOFF_MS : 0;
    setTimeout(() => {
      if (!this.stopping && !this.winched && !this.workers.has(index)) this.spawn(index);
    }, wait);
  }

  private forward(signal: SignalName): void {
    if (signal !== "SIGINT" && this.stopping) return;
    this.stopping = true;
    this.logger.log("notice", `signal ${signal} received, passing it to the worker processes`);
    for (const w of this.workers.values()) w.handle.signal(signal);
    if (this.workers.size === 0) void this.exit(0);
  }

  /** HUP: each worker reloads itself, but only a config that parses is passed on. */
  private async reload(): Promise<void> {
    if (this.stopping) return;
    let config: Config;
    try {
      config = await this.options.load((w) => this.logger.log("warn", w));
      this.listeners.apply(config, false);
    } catch (e) {
      const why = e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e);
      this.logger.log("emerg", `${why}; reload failed, the running configuration is kept`);
      return;
    }
    // The verdicts are reset by the workers' reload; worker 0 publishes fresh ones.
    this.health.clear();
    this.warnUnsharedTickets(config);
    // A new cycle, new ticket keys. The secret and the signal may reach a worker in either
    // order: its setups, old or new, take the secret whenever it comes.
    this.tlsSecret = newTlsSecret();
    for (const w of this.workers.values()) this.sendTlsSecret(w.handle);
    for (const w of this.workers.values()) w.handle.signal("SIGHUP");
  }

  /** Only where the workers' TLS can take it: a secret no one uses is better not sent. */
  private sendTlsSecret(handle: WorkerHandle): void {
    if (this.runtime.tls?.ticketKeysUnshared === null) handle.send(this.tlsSecret);
  }

  /** Never silently weaker: where workers cannot share ticket keys, the operator is told. */
  private warnUnsharedTickets(config: Config): void {
    const warning = ticketKeysWarning(config, this.options.count, this.runtime.name, this.runtime.tls);
    if (warning) this.logger.log("warn", warning);
  }

  private async exit(code: number): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await removePidFile(this.runtime, this.options.pidFile);
    this.logger.log("notice", "exit");
    await this.mainLogs?.close();
    this.done(code);
  }
}
