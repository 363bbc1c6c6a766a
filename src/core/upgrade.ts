// nginx's binary upgrade, for a lone process and for a master. USR2 starts the new binary
// (the executable on disk now) with the same arguments; it inherits the listening sockets
// where the runtime can pass them (nginx's NGINX variable), else binds its own beside them
// with SO_REUSEPORT. The pid file moves to PID.oldbin meanwhile. WINCH then stops this one
// taking connections (a master: its workers quit gracefully) while its sessions finish; HUP
// after WINCH rolls back (listening, or workers, again); QUIT ends it as always. Should the
// new binary exit first, this one takes its pid file back and listens again.
import type { Logger } from "./log.ts";
import { writePidFile } from "./pid-file.ts";
import type { ProcessSupport, Runtime, UpgradeChild } from "./runtime.ts";

export interface UpgradeHooks {
  /** The listening sockets to pass on (a lone process); none for a master. */
  listeners(): { key: string; fd: number | undefined }[];
  /** WINCH: take no more connections; what runs now goes on. */
  stopAccepting(): Promise<void>;
  /** Rollback, or the new binary ended while this one had stopped: take connections again. */
  resumeAccepting(): Promise<void>;
}

export class BinaryUpgrade {
  private child: UpgradeChild | null = null;
  private stopped = false;
  /**
   * After WINCH nothing may be left to keep the event loop going (no listener, perhaps no
   * session; signal handlers do not count): this timer keeps the process waiting for HUP or QUIT.
   */
  private waiting: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly runtime: Runtime,
    private readonly processes: ProcessSupport | undefined,
    private readonly logger: Logger,
    private readonly pidFile: string | null,
    private readonly hooks: UpgradeHooks,
    /** A master whose workers cannot bind beside others (node:cluster) says why here. */
    private readonly blocked: string | null = null,
  ) {}

  /** True between WINCH and a rollback: HUP means "roll back", not "reload". */
  get winched(): boolean {
    return this.stopped;
  }

  /** USR2. */
  async start(): Promise<void> {
    const p = this.processes;
    const why = this.blocked ??
      (!p?.spawnUpgrade || !p.upgradeBy ? p?.upgradeBlocked ?? `${this.runtime.name} cannot start a new binary here` : null);
    if (why !== null) {
      this.logger.log("notice", `signal 12 (SIGUSR2) received, the binary upgrade is not possible: ${why}; ignoring`);
      return;
    }
    if (this.child) {
      // nginx's words: one upgrade at a time.
      this.logger.log(
        "alert",
        "the changing binary signal is ignored: you should shutdown or terminate before either old or new binary's process",
      );
      return;
    }
    this.logger.log("notice", "changing binary");
    const listeners = this.hooks.listeners();
    if (p!.upgradeBy === "fd" && listeners.some((l) => l.fd === undefined)) {
      this.logger.log("alert", "a listening socket has no descriptor to pass on; the binary upgrade is not started");
      return;
    }
    await this.movePidFile(true);
    let child: UpgradeChild;
    try {
      child = p!.spawnUpgrade!(p!.upgradeBy === "fd" ? listeners.map((l) => ({ key: l.key, fd: l.fd! })) : []);
    } catch (e) {
      this.logger.log(
        "alert",
        `execve() failed while executing new binary process (${e instanceof Error ? e.message : String(e)})`,
      );
      await this.movePidFile(false);
      return;
    }
    this.child = child;
    this.logger.log("notice", `start new binary process ${child.pid}`);
    void child.exited.then((code) => this.childExited(child, code));
  }

  /** WINCH: only while a new binary runs (a stray one, from a terminal, changes nothing). */
  async winch(): Promise<void> {
    if (!this.child || this.stopped) {
      this.logger.log("notice", "signal 28 (SIGWINCH) received, no new binary is running, ignoring");
      return;
    }
    this.stopped = true;
    this.waiting ??= setInterval(() => undefined, 3_600_000);
    this.logger.log("notice", "signal 28 (SIGWINCH) received, gracefully shutting down, the new binary takes the connections");
    await this.hooks.stopAccepting();
  }

  /** HUP after WINCH: listen again, as nginx's old master starts workers again. */
  async rollback(): Promise<void> {
    if (!this.stopped) return;
    this.resumed();
    this.logger.log("notice", "signal 1 (SIGHUP) received, rolling back: taking connections again");
    await this.hooks.resumeAccepting();
  }

  private async childExited(child: UpgradeChild, code: number | null): Promise<void> {
    if (this.child !== child) return;
    this.child = null;
    this.logger.log("notice", `new binary process ${child.pid} exited ${code === null ? "on a signal" : `with code ${code}`}`);
    await this.movePidFile(false);
    if (this.stopped) {
      this.resumed();
      await this.hooks.resumeAccepting();
    }
  }

  /** Stops waiting: listening again, or ending (QUIT, TERM) after WINCH. */
  resumed(): void {
    this.stopped = false;
    if (this.waiting) clearInterval(this.waiting);
    this.waiting = null;
  }

  /** PID → PID.oldbin (upgrade) and back (the new binary is gone), as nginx renames it. */
  private async movePidFile(away: boolean): Promise<void> {
    if (this.pidFile === null) return;
    const old = `${this.pidFile}.oldbin`;
    try {
      if (away) {
        await this.runtime.writeTextFile(old, `${this.runtime.pid}\n`);
        // The new binary writes its own; until then `-s` finds nobody rather than the old one.
        await this.runtime.removeFile(this.pidFile).catch(() => undefined);
      } else {
        await writePidFile(this.runtime, this.pidFile);
        await this.runtime.removeFile(old).catch(() => undefined);
      }
    } catch (e) {
      this.logger.log("alert", `${e instanceof Error ? e.message : String(e)} while moving the pid file`);
    }
  }
}
