import { COMMAND_LINE, ConfigError } from "./errors.ts";
import type { Config, ErrorLogConfig } from "./model.ts";
import { loadNginxConfig } from "./read-nginx/reader.ts";
import { type ConfigFiles, type ConfigWarning } from "./read-nginx/files.ts";
import { loadYamlConfig } from "./read-yaml/reader.ts";

export type { ConfigFiles, ConfigWarning } from "./read-nginx/files.ts";

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
 * The name decides first: `.yaml`/`.yml` is YAML, `.conf` is nginx (whatever it holds: the
 * nginx reader then says where it goes wrong). Otherwise the content: binary data is neither,
 * and said so; nginx when the text has a main block (stream, events, tcp, http) or its first
 * statement looks like a directive (`worker_processes 1;`), not a YAML `key:`.
 */
export function configFormat(text: string, file: string): "yaml" | "nginx" {
  if (/\.ya?ml$/i.test(file)) return "yaml";
  if (/\.conf$/i.test(file)) return "nginx";
  const binary = binaryAt(text);
  if (binary) {
    throw new ConfigError(
      `"${file}" is neither an nginx config nor YAML: it holds binary data (${binary}); name it .conf or .yaml to choose the reader`,
      null,
    );
  }
  if (/^[ \t]*(stream|events|tcp|http)\s*\{/m.test(text)) return "nginx";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (/^[\w.-]+\s*:(\s|$)/.test(line) || line.startsWith("---") || line.startsWith("{")) return "yaml";
    return /^[a-z_][a-z0-9_]*(\s|;|$)/.test(line) ? "nginx" : "yaml";
  }
  return "yaml";
}

/**
 * Where text stops being text: a NUL or another control byte no config has, or bytes that are
 * not UTF-8 (decoded as U+FFFD). "line N" for the message, or null for text.
 */
function binaryAt(text: string): string | null {
  // deno-lint-ignore no-control-regex -- control characters are exactly what this looks for
  const at = text.search(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
  if (at < 0) return null;
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < at; i = text.indexOf("\n", i + 1)) line++;
  return `line ${line}`;
}
