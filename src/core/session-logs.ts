// What a server's sessions log to, opened per config: its access_log files (access-log.ts)
// and its own error_log lines (server-error-logs.ts). One prepare/commit/abort for both, so
// a start or reload opens everything or keeps what runs.
import { AccessLogs, type PreparedAccessLogs } from "./access-log.ts";
import type { Config } from "./config/model.ts";
import type { Logger } from "./log.ts";
import type { Runtime } from "./runtime.ts";
import { type PreparedErrorLogs, ServerErrorLogs } from "./server-error-logs.ts";
import type { VariableRegistry } from "./variables/registry.ts";

export type PreparedSessionLogs = PreparedAccessLogs & Pick<PreparedErrorLogs, "errorLogFor">;

export class SessionLogs {
  private readonly access: AccessLogs;
  private readonly errors: ServerErrorLogs;

  constructor(runtime: Runtime, logger: Logger) {
    this.access = new AccessLogs(runtime, logger);
    this.errors = new ServerErrorLogs(runtime);
  }

  async prepare(config: Config, registry: VariableRegistry): Promise<PreparedSessionLogs> {
    const errors = await this.errors.prepare(config);
    const access = await this.access.prepare(config, registry).catch((e: unknown) =>
      errors.abort().then(() => Promise.reject(e))
    );
    return {
      forServer: (server) => access.forServer(server),
      errorLogFor: (server) => errors.errorLogFor(server),
      commit: async () => {
        await access.commit();
        await errors.commit();
      },
      abort: async () => {
        await access.abort();
        await errors.abort();
      },
    };
  }

  reopen(): Promise<void> {
    return Promise.all([this.access.reopen(), this.errors.reopen()]).then(() => {});
  }

  close(): Promise<void> {
    return Promise.all([this.access.close(), this.errors.close()]).then(() => {});
  }
}
