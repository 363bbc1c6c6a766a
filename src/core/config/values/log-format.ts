// What a stream access-log format may say, shared by the config loaders (to reject a bad
// format with its file and line) and the access log (to compile it): nginx's variable
// syntax (ngx_stream_log_compile_format, through the shared splitter), the variables
// streamlb fills, and the built-in formats.
import { type Piece, splitVariables, VariableSyntaxError } from "../../variables/complex-value.ts";
import { BUILTIN_REGISTRY } from "../../variables/registry.ts";
import type { LogEscape } from "../model.ts";

/** A parsed format: literal text and variable names (lower case), in order. */
export type LogFormatPart = { readonly text: string } | { readonly variable: string };

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
 * ngx_stream_log_compile_format words it. `knows` judges the names: the built-ins by
 * default; a loader passes `() => true` and leaves the names to the whole-config check,
 * since a map later in the file may define them.
 */
export function parseLogFormat(format: string, knows: (name: string) => boolean = builtin): LogFormatPart[] {
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
    if (!knows(name)) throw new Error(`unknown "${name}" variable`);
    return { variable: name };
  });
}

function builtin(name: string): boolean {
  return BUILTIN_REGISTRY.knows(name);
}

/** The problem with a format, in nginx's words, or null when it compiles. */
export function logFormatError(format: string, knows?: (name: string) => boolean): string | null {
  try {
    parseLogFormat(format, knows);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Any name: the loaders leave names to the whole-config check. */
export const ANY_NAME = (): boolean => true;

/** True when a config's own definition says exactly what the built-in one of that name says. */
export function sameAsBuiltin(name: string, escape: LogEscape, format: string): boolean {
  const builtin = BUILTIN_LOG_FORMATS.get(name);
  return builtin !== undefined && builtin.escape === escape && builtin.format === format;
}
