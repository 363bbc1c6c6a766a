// nginx's process control for one running streamlb: reload (HUP), graceful quit (QUIT),
// fast stop (TERM/INT), log reopen (USR1), and the pid file `streamlb -s` finds it by.
import { type AdminContext, createAdminHandler, localSnapshot } from "./admin.ts";
import { AdminEndpoint } from "./admin-endpoint.ts";
import { ConfigError } from "./config/errors.ts";
import type { Config, LogLevel } from "./config/model.ts";
import { MainErrorLogs, mainErrorLogs, mainLogsKey } from "./error-log-sinks.ts";
import { type RunningBalancer, startRunningBalancer } from "./running-balancer.ts";
import { removePidFile, writePidFile } from "./pid-file.ts";
import { keepAliveOnSignals } from "./signals.ts";
import { createLogger, type LevelLogger } from "./log.ts";
import type { Runtime, WorkerSide } from "./runtime.ts";
import { WorkerLink } from "./worker-link.ts";
import { tlsSecretBytes } from "./tls-secret.ts";
import { BinaryUpgrade } from "./upgrade.ts";
import { NGINX_COMPATIBLE, VERSION } from "../version.ts";

export interface ControllerOptions {
  readonly runtime: Runtime;
  readonly config: Config;
  /** Reads and parses the config again for a reload (the -c file, or the embedded default). */
  readonly load: (warn: (message: string) => void) => Promise<Config>;
  /** Where the pid file goes; null writes none. */
  readonly pidFile: string | null;
  /** Set in a worker process: the master owns the pid file, worker 0 the admin endpoint and the checks. */
  readonly worker?: WorkerSide | null;
}

type State = "running" | "stopping";

export class Controller {
  private readonly runtime: Runtime;
  private config: Config;
  private instance: RunningBalancer | null = null;
  /** The main error_log lines, once open; until then lines go to stderr. */
  private mainLogs: MainErrorLogs | null = null;
  private state: State = "running";
  /** A reload asked for while one runs waits here; more asks join it. */
  private pendingReload: Promise<void> | null = null;
  private reloading: Promise<void> = Promise.resolve();
  private stopped!: (code: number) => void;
  readonly logger: LevelLogger;
  /** The admin HTTP endpoint (off unless the config has `admin`). */
  readonly admin: AdminEndpoint;
  /** In a worker: its channel to the master, for the state the workers share. */
  private readonly link: WorkerLink | null;
  /** USR2/WINCH (a lone process; a worker's master does it); null until listening. */
  private upgrade: BinaryUpgrade | null = null;
  /** What this process's own status snapshot is made from (a worker's part of /status). */
  private readonly adminContext: AdminContext;

  constructor(private readonly options: ControllerOptions) {
    this.runtime = options.runtime;
    this.config = options.config;
    // Writes go wherever error_log points now: reload and reopen swap the file.
    const write = (line: string, level: LogLevel) =>
      this.mainLogs ? this.mainLogs.set.write(line, level) : this.runtime.writeStderr(line);
    this.logger = createLogger(write, options.config.errorLog.level, this.runtime.pid);
    this.link = options.worker ? new WorkerLink(options.worker) : null;
    const link = this.link;
    const admin = {
      runtime: this.runtime,
      version: VERSION,
      startedMs: Date.now(),
      instance: () => this.instance,
      token: () => this.config.admin?.token ?? null,
      accepting: () => this.state === "running",
      logger: this.logger,
    };
    this.adminContext = admin;
    const handler = createAdminHandler(link ? { ...admin, otherWorkers: () => link.otherWorkers() } : admin);
    this.admin = new AdminEndpoint(this.runtime, handler, this.logger);
  }

  get running(): RunningBalancer | null {
    return this.instance;
  }

  /** Starts listening; resolves with the exit code once stopped (1 if it cannot start). */
  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.stopped = resolve));
    // Handlers first: a signal that arrives as soon as we listen must not find the default
    // action (which would kill the process).
    const on = (signal: Parameters<Runtime["onSignal"]>[0], what: () => void) => this.runtime.onSignal(signal, what);
    // HUP after a binary upgrade's WINCH rolls back rather than reloads, as nginx's old master.
    on("SIGHUP", () => void (this.upgrade?.winched ? this.upgrade.rollback() : this.reload()));
    on("SIGQUIT", () => void this.quit(this.config.workerShutdownTimeoutMs, "SIGQUIT"));
    on(
      "SIGTERM",
      () =>
        this.config.shutdownGraceMs === null ? void this.stop("SIGTERM") : void this.quit(this.config.shutdownGraceMs, "SIGTERM"),
    );
    on("SIGINT", () => void this.stop("SIGINT"));
    on("SIGUSR1", () => void this.reopen());
    // A worker leaves the binary upgrade to its master.
    keepAliveOnSignals(
      this.runtime,
      this.logger,
      this.link ? null : { usr2: () => void this.upgrade?.start(), winch: () => void this.upgrade?.winch() },
    );
    try {
      await this.openLogs(this.config);
      const link = this.link;
      this.newTicketKeys();
      this.instance = startRunningBalancer(
        this.runtime,
        this.config,
        this.logger,
        link && {
          health: {
            probes: link.index === 0,
            publish: (upstream, server, health) => link.send({ type: "health", upstream, server, health }),
          },
          sharePeers: (m) => link.send(m),
          counters: link.counters,
        },
      );
      await this.instance.ready;
      if (link) {
        // Only now: verdicts and peer state name upstreams and servers, which exist once the
        // config is applied (the adapters hold the messages that come earlier, such as the
        // master's replay).
        link.listen(
          {
            health: (m) => this.instance?.balancer.receiveHealth(m.upstream, m.server, m.health),
            tlsSecret: (m) => {
              const secret = tlsSecretBytes(m);
              if (secret) this.runtime.tls?.shareTicketKeys(secret);
            },
            peers: (m) => this.instance?.balancer.receivePeers(m),
            report: () => (this.instance ? localSnapshot(this.adminContext, this.instance) : null),
          },
          // An orphan (the master was killed) must not hold the ports forever.
          () => void this.stop("SIGTERM"),
        );
      }
      await this.admin.apply(this.adminConfig(this.config));
      await writePidFile(this.runtime, this.options.pidFile);
      if (!this.link) {
        const balancer = this.instance.balancer;
        this.upgrade = new BinaryUpgrade(this.runtime, this.runtime.processes, this.logger, this.options.pidFile, {
          listeners: () => balancer.listenerFds(),
          stopAccepting: () => balancer.stopAccepting(),
          resumeAccepting: () => balancer.resumeAccepting(),
        });
      }
    } catch (e) {
      await this.instance?.close().catch(() => undefined);
      await this.admin.close().catch(() => undefined);
      const why = e instanceof Error ? e.message : String(e);
      // Into the error log as well, as nginx does: whoever reads only the log learns why.
      if (mainErrorLogs(this.config).some((l) => l.path !== "stderr")) this.logger.log("emerg", why);
      this.runtime.writeStderr(`streamlb: [emerg] ${why}\n`);
      await this.mainLogs?.close();
      return 1;
    }
    this.link?.send({ type: "ready" });
    const listening = this.instance
      .addresses()
      .map((a) => (a.host.startsWith("unix:") ? a.host : `${a.host}:${a.port}`))
      .join(", ");
    // nginx's start notice names its version; streamlb names the one it follows, as -V does.
    this.logger.log("notice", `nginx/${NGINX_COMPATIBLE} (compatible; streamlb/${VERSION})`);
    this.logger.log("notice", `streamlb/${VERSION} on ${this.runtime.name} ${this.runtime.version} listening on ${listening}`);

    return done;
  }

  /** Re-reads and applies the config; a bad one is logged and the running one kept. */
  reload(): Promise<void> {
    if (this.state !== "running") return Promise.resolve();
    // One reload at a time; asks that arrive meanwhile share a single follow-up reload.
    if (this.pendingReload) return this.pendingReload;
    const next = this.reloading.then(async () => {
      this.pendingReload = null;
      await this.reloadNow();
    });
    this.pendingReload = next;
    this.reloading = next;
    return next;
  }

  private async reloadNow(): Promise<void> {
    if (this.state !== "running" || !this.instance) return;
    this.logger.log("notice", "signal process started: reloading configuration");
    let next: Config;
    try {
      next = await this.options.load((w) => this.logger.log("warn", w));
    } catch (e) {
      const why = e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e);
      this.logger.log("emerg", `${why}; reload failed, the running configuration is kept`);
      return;
    }
    try {
      await this.instance.reload(next);
    } catch (e) {
      this.logger.log("emerg", `${e instanceof Error ? e.message : String(e)}; reload failed, the running configuration is kept`);
      return;
    }
    this.config = next;
    this.newTicketKeys();
    // A new admin address that cannot be bound leaves the old endpoint up (the reload stands).
    await this.admin.apply(this.adminConfig(next)).catch((e: unknown) => {
      this.logger.log("emerg", `${e instanceof Error ? e.message : String(e)}; the admin endpoint stays where it was`);
    });
    await this.openLogs(next);
  }

  /**
   * A lone process is its own master: each cycle draws its ticket keys from a new secret, so
   * the server blocks with the same certificates (or certificate paths) resume each other's
   * tickets as under a master, and a reload retires the old ones. Workers get the master's.
   */
  private newTicketKeys(): void {
    if (!this.link) this.runtime.tls?.shareTicketKeys(crypto.getRandomValues(new Uint8Array(48)));
  }

  /** Only one process may bind the admin address: the lone process, or worker 0. */
  private adminConfig(config: Config): Config["admin"] {
    const worker = this.options.worker;
    return worker && worker.index > 0 ? null : config.admin;
  }

  /** Graceful stop: stop accepting, let sessions finish for up to graceMs (0 = no limit). */
  async quit(graceMs: number, signal: string): Promise<void> {
    if (this.state !== "running" || !this.instance) return;
    this.state = "stopping";
    this.logger.log("notice", `signal ${signal} received, shutting down gracefully`);
    await this.instance.shutdown(graceMs);
    await this.exit();
  }

  /** Fast stop: close everything now. */
  async stop(signal: string): Promise<void> {
    if (this.state !== "running" && signal !== "SIGINT") return;
    this.state = "stopping";
    this.logger.log("notice", `signal ${signal} received, exiting`);
    await this.instance?.close();
    await this.exit();
  }

  /** USR1: reopen log files (after logrotate moved them). */
  async reopen(): Promise<void> {
    this.logger.log("notice", "reopening logs");
    await this.mainLogs?.reopen();
    await this.instance?.balancer.reopenLogs();
  }

  /** Opens the config's main error logs unless the open ones are the same (paths and levels). */
  private async openLogs(config: Config): Promise<void> {
    const logs = mainErrorLogs(config);
    if (this.mainLogs?.key === mainLogsKey(logs)) return;
    const previous = this.mainLogs;
    this.mainLogs = await MainErrorLogs.open(this.runtime, logs);
    this.logger.setLevel(this.mainLogs.set.level);
    await previous?.close();
  }

  private async exit(): Promise<void> {
    await removePidFile(this.runtime, this.options.pidFile);
    // Last, so probes see "not ready" for as long as sessions drain.
    await this.admin.close();
    this.logger.log("notice", "exit");
    await this.mainLogs?.close();
    this.stopped(0);
  }
}
