// What a stream access-log format may say, shared by the config loaders (to reject a bad
// format with its file and line) and the access log (to compile it): nginx's variable
// syntax (ngx_stream_log_compile_format), the variables streamlb fills, and the built-in
// formats.
import type { LogEscape } from "./model.ts";

/** The stream variables an access log line can use, as nginx's stream modules name them. */
export const LOG_VARIABLES = [
  "remote_addr",
  "remote_port",
  "server_addr",
  "server_port",
  "protocol",
  "status",
  "bytes_sent",
  "bytes_received",
  "session_time",
  "connection",
  "time_local",
  "time_iso8601",
  "msec",
  "pid",
  "upstream_addr",
  "upstream_bytes_sent",
  "upstream_bytes_received",
  "upstream_connect_time",
  "upstream_session_time",
] as const;

export type LogVariable = (typeof LOG_VARIABLES)[number];

/**
 * nginx stream variables streamlb has no value for (yet): a format may name them, as an
 * nginx.conf does, and they log as nginx logs a variable without a value ("-").
 */
export const EMPTY_LOG_VARIABLES: ReadonlySet<string> = new Set([
  "upstream_first_byte_time",
  "binary_remote_addr",
  "proxy_protocol_addr",
  "proxy_protocol_port",
  "proxy_protocol_server_addr",
  "proxy_protocol_server_port",
  "realip_remote_addr",
  "realip_remote_port",
  "ssl_preread_server_name",
  "ssl_preread_protocol",
  "ssl_preread_alpn_protocols",
  "ssl_protocol",
  "ssl_cipher",
  "ssl_server_name",
  "server_name",
  "hostname",
  "nginx_version",
]);

const FILLED = new Set<string>(LOG_VARIABLES);

/** A parsed format: literal text and variables, in order (`filled` false: always empty). */
export type LogFormatPart =
  | { readonly text: string }
  | { readonly variable: LogVariable; readonly filled: true }
  | { readonly variable: string; readonly filled: false };

export interface BuiltinLogFormat {
  readonly escape: LogEscape;
  readonly format: string;
}

/**
 * Formats every config can name without defining them. `basic` is the example of nginx's
 * stream log documentation; `json` has every variable, one JSON object a line. A config may
 * define its own format under either name, which then wins (nginx.conf files often carry
 * the documentation's `basic`).
 */
export const BUILTIN_LOG_FORMATS: ReadonlyMap<string, BuiltinLogFormat> = new Map([
  [
    "basic",
    {
      escape: "default",
      format: "$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time",
    },
  ],
  [
    "json",
    {
      escape: "json",
      format:
        '{"time":"$time_iso8601","msec":$msec,"connection":$connection,' +
        '"remote_addr":"$remote_addr","remote_port":$remote_port,' +
        '"server_addr":"$server_addr","server_port":$server_port,' +
        '"protocol":"$protocol","status":$status,' +
        '"bytes_sent":$bytes_sent,"bytes_received":$bytes_received,"session_time":$session_time,' +
        '"upstream_addr":"$upstream_addr","upstream_bytes_sent":"$upstream_bytes_sent",' +
        '"upstream_bytes_received":"$upstream_bytes_received",' +
        '"upstream_connect_time":"$upstream_connect_time","upstream_session_time":"$upstream_session_time"}',
    },
  ],
]);

/** What `access_log PATH` with no format uses (nginx requires one; streamlb's choice). */
export const DEFAULT_ACCESS_LOG_FORMAT = "basic";

/**
 * Splits a format the way nginx reads it: `$name` runs over [A-Za-z0-9_], `${name}` ends at
 * the brace; everything else is literal. Throws nginx's message for what nginx rejects,
 * including a variable streamlb does not know.
 */
export function parseLogFormat(format: string): LogFormatPart[] {
  const parts: LogFormatPart[] = [];
  let i = 0;
  while (i < format.length) {
    if (format[i] !== "$") {
      const next = format.indexOf("$", i);
      const end = next < 0 ? format.length : next;
      parts.push({ text: format.slice(i, end) });
      i = end;
      continue;
    }
    const start = i;
    i++;
    const bracket = format[i] === "{";
    if (bracket) i++;
    const nameStart = i;
    while (i < format.length && /[A-Za-z0-9_]/.test(format[i]!)) i++;
    const name = format.slice(nameStart, i);
    if (bracket) {
      if (format[i] !== "}") throw new Error(`the closing bracket in "${name}" variable is missing`);
      i++;
    }
    if (name === "") throw new Error(`invalid parameter "${format.slice(start)}"`);
    if (FILLED.has(name)) parts.push({ variable: name as LogVariable, filled: true });
    else if (EMPTY_LOG_VARIABLES.has(name)) parts.push({ variable: name, filled: false });
    else throw new Error(`unknown "${name}" variable`);
  }
  return parts;
}

/** The problem with a format, in nginx's words, or null when it compiles. */
export function logFormatError(format: string): string | null {
  try {
    parseLogFormat(format);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** The variables of a (valid) format that streamlb leaves empty, for a warning. */
export function emptyLogVariables(format: string): string[] {
  return parseLogFormat(format).flatMap((p) => ("variable" in p && !p.filled ? [p.variable] : []));
}

/** True when a config's own definition says exactly what the built-in one of that name says. */
export function sameAsBuiltin(name: string, escape: LogEscape, format: string): boolean {
  const builtin = BUILTIN_LOG_FORMATS.get(name);
  return builtin !== undefined && builtin.escape === escape && builtin.format === format;
}
