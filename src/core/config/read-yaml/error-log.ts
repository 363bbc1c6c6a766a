// `error_log:` in YAML, at the top, in stream and in a server: one `{ path, level }` or a list
// of them (nginx's several error_log lines at one level). path is "stderr", a file or
// `syslog:server=…`; level is nginx's, "error" unless given.
import type { Node } from "yaml";
import { type ErrorLogConfig, LOG_LEVELS, type LogLevel } from "../model.ts";
import { isSyslogPath, parseSyslogTarget } from "../values/syslog-target.ts";
import type { YamlWalker } from "./walker.ts";

export function yamlErrorLogs(w: YamlWalker, node: Node | null): ErrorLogConfig[] {
  return w.listOrOne(node).map((item) => yamlErrorLog(w, item));
}

function yamlErrorLog(w: YamlWalker, node: Node): ErrorLogConfig {
  const e = w.entries(node, "error_log", ["path", "level"]);
  const path = e.has("path") ? w.string(e.get("path")!.value, "error_log path") : "stderr";
  if (isSyslogPath(path)) {
    const target = parseSyslogTarget(path);
    if ("error" in target) w.fail(e.get("path")!.value, target.error);
  }
  let level: LogLevel = "error";
  if (e.has("level")) {
    const v = w.string(e.get("level")!.value, "error_log level");
    if (!(LOG_LEVELS as readonly string[]).includes(v)) {
      w.fail(e.get("level")!.value, `invalid error_log level "${v}" (expected one of: ${LOG_LEVELS.join(", ")})`);
    }
    level = v as LogLevel;
  }
  return { path, level };
}
