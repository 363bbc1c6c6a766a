import { COMMAND_LINE, ConfigError } from "./errors.ts";
import type { Config, ErrorLogConfig } from "./model.ts";
import { loadNginxConfig, type ConfigFiles, type ConfigWarning } from "./nginx.ts";
import { loadYamlConfig } from "./yaml.ts";

export type { ConfigFiles, ConfigWarning } from "./nginx.ts";

export interface LoadOptions {
  /** How an nginx config reads its `include`d files; without it, `include` is an error. */
  readonly files?: ConfigFiles;
  /** Each directive accepted without effect (nginx configs), for `[warn]` lines. */
  readonly onWarning?: (warning: ConfigWarning) => void;
  /** `-g`: main-context directives in nginx's syntax, read before the file. */
  readonly globals?: string;
  /** `-e`: the error log when the config names none. */
  readonly defaultErrorLog?: ErrorLogConfig;
}

/** Reads a config in whichever spelling it is written. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  if (configFormat(text, file) === "yaml") {
    // Fail closed: global directives that would be dropped must not look accepted.
    if (options.globals !== undefined) {
      throw new ConfigError(`global directives apply to nginx configs only: set them in the YAML config ${file}`, {
        file: COMMAND_LINE,
        line: 1,
        col: 0,
      });
    }
    return loadYamlConfig(text, file, options.defaultErrorLog);
  }
  const { config, warnings } = loadNginxConfig(text, file, {
    files: options.files,
    globals: options.globals,
    defaultErrorLog: options.defaultErrorLog,
  });
  for (const w of warnings) options.onWarning?.(w);
  return config;
}

/**
 * `.yaml`/`.yml` is YAML. Otherwise nginx when the text has a main block (stream, events,
 * tcp, http) or its first statement looks like a directive (`worker_processes 1;`), not a
 * YAML `key:`.
 */
export function configFormat(text: string, file: string): "yaml" | "nginx" {
  if (/\.ya?ml$/i.test(file)) return "yaml";
  if (/^[ \t]*(stream|events|tcp|http)\s*\{/m.test(text)) return "nginx";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (/^[\w.-]+\s*:(\s|$)/.test(line) || line.startsWith("---") || line.startsWith("{")) return "yaml";
    return /^[a-z_][a-z0-9_]*(\s|;|$)/.test(line) ? "nginx" : "yaml";
  }
  return "yaml";
}
