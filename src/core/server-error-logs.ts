// error_log in stream{} and server{}: the logger a server's sessions write to, instead of the
// main error logs (nginx's merged error_log of the server). Targets are opened before a config
// is applied (one that cannot be opened fails the start or the reload) and shared by path; a
// reload keeps the ones it still names open and closes the rest.
import type { ServerConfig } from "./config/model.ts";
import type { Config } from "./config/model.ts";
import { ErrorLogSet, type LogTarget, openLogTarget } from "./error-log-sinks.ts";
import { createLogger, type Logger } from "./log.ts";
import type { Runtime } from "./runtime.ts";

export interface PreparedErrorLogs {
  /** The server's own logger; null when it logs to the main error logs. */
  errorLogFor(server: ServerConfig): Logger | null;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

type LogRuntime = Pick<Runtime, "writeStderr" | "openLogFile" | "connectDatagram" | "hostname" | "pid">;

export class ServerErrorLogs {
  private targets = new Map<string, LogTarget>();

  constructor(private readonly runtime: LogRuntime) {}

  async prepare(config: Config): Promise<PreparedErrorLogs> {
    const opened = new Map<string, LogTarget>();
    const used = new Set<string>();
    const loggers = new Map<ServerConfig, Logger>();
    const target = async (path: string) => {
      used.add(path);
      let t = this.targets.get(path) ?? opened.get(path);
      if (!t) opened.set(path, t = await openLogTarget(this.runtime, path));
      return t;
    };
    try {
      for (const server of config.stream.servers) {
        if (!server.errorLogs?.length) continue;
        const sinks = [];
        for (const l of server.errorLogs) sinks.push({ target: await target(l.path), level: l.level });
        const set = new ErrorLogSet(sinks);
        loggers.set(server, createLogger((line, level) => set.write(line, level), set.level, this.runtime.pid));
      }
    } catch (e) {
      await Promise.all([...opened.values()].map((t) => t.close()));
      throw e;
    }
    return {
      errorLogFor: (server) => loggers.get(server) ?? null,
      commit: async () => {
        for (const [path, t] of opened) this.targets.set(path, t);
        const gone = [...this.targets].filter(([path]) => !used.has(path));
        for (const [path] of gone) this.targets.delete(path);
        await Promise.all(gone.map(([, t]) => t.close()));
      },
      abort: () => Promise.all([...opened.values()].map((t) => t.close())).then(() => {}),
    };
  }

  reopen(): Promise<void> {
    return Promise.all([...this.targets.values()].map((t) => t.reopen())).then(() => {});
  }

  close(): Promise<void> {
    const all = [...this.targets.values()];
    this.targets.clear();
    return Promise.all(all.map((t) => t.close())).then(() => {});
  }
}
