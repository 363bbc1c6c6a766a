// What `nginx -t` opens beyond the config itself, so a path in a missing or unwritable
// directory fails the test rather than the start: the pid file, the error log and every
// access log; and the certificates and keys TLS loads. Logs are created if absent, as nginx
// and a start would; a pid file -t had to create is removed again (nginx leaves it empty,
// which only confuses a later `-s`).
import { describeFileError } from "./config/read-nginx/files.ts";
import type { Config } from "./config/model.ts";
import type { Runtime } from "./runtime.ts";
import { mainErrorLogs } from "./error-log-sinks.ts";
import { isSyslogPath } from "./config/values/syslog-target.ts";
import { compileRouteTls } from "./phases/ssl-setup.ts";

/** Opens and closes each file; the first failure in nginx's words, or null when all open. */
export async function openConfiguredFiles(runtime: Runtime, config: Config, pidFile: string | null): Promise<string | null> {
  const paths: string[] = [];
  if (pidFile) paths.push(pidFile);
  const errorLogs = [...mainErrorLogs(config), ...config.stream.servers.flatMap((s) => s.errorLogs ?? [])];
  for (const log of errorLogs) if (log.path !== "stderr" && !isSyslogPath(log.path)) paths.push(log.path);
  for (const server of config.stream.servers) {
    // A path with variables is opened per session, as in nginx; nothing to open now.
    for (const log of server.accessLog) if (!log.path.includes("$") && !isSyslogPath(log.path)) paths.push(log.path);
  }
  const pidExisted = pidFile !== null && (await runtime.readTextFile(pidFile).then(() => true, () => false));
  for (const path of new Set(paths)) {
    try {
      const file = await runtime.openLogFile(path);
      await file.close();
      if (path === pidFile && !pidExisted) await runtime.removeFile(path);
    } catch (e) {
      return `open() "${path}" failed (${describeFileError(e)})`;
    }
  }
  // Certificates and keys load as they would on start (nginx -t loads them too).
  for (const server of config.stream.servers) {
    for (const ssl of new Set(server.listen.map((l) => l.ssl === true))) {
      try {
        await compileRouteTls(runtime, server, ssl);
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    }
  }
  return null;
}
