// What a stream access-log format may say, shared by the config loaders (to reject a bad
// format with its file and line) and the access log (to compile it): nginx's variable
// syntax (ngx_stream_log_compile_format, through the shared splitter), the variables
// streamlb fills, and the built-in formats.
import { type Piece, splitVariables, VariableSyntaxError } from "../../variables/complex-value.ts";
import { BUILTIN_REGISTRY } from "../../variables/registry.ts";
import type { LogEscape } from "../model.ts";

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
      format: '{"time":"$time_iso8601","msec":$msec,"connection":$connection,' +
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
 * Splits a format with the one `$variable` splitter (variables/complex-value.ts), worded as
 * ngx_stream_log_compile_format words it. Any nginx stream variable is accepted; those
 * streamlb does not fill yet log as nginx logs a variable without a value ("-").
 */
export function parseLogFormat(format: string): LogFormatPart[] {
  let pieces: Piece[];
  try {
    // The log module reads `$1` as a variable named "1" (unknown), not as a capture.
    pieces = splitVariables(format, { captures: false });
  } catch (err) {
    if (!(err instanceof VariableSyntaxError)) throw err;
    throw new Error(err.reason === "name" ? `invalid parameter "${format.slice(err.at)}"` : err.message);
  }
  return pieces.map((p): LogFormatPart => {
    if ("text" in p) return { text: p.text };
    const name = "name" in p ? p.name.toLowerCase() : String(p.capture);
    if (FILLED.has(name)) return { variable: name as LogVariable, filled: true };
    if (BUILTIN_REGISTRY.knows(name)) return { variable: name, filled: false };
    throw new Error(`unknown "${name}" variable`);
  });
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
