// The logging directives: the main error_log, log_format, access_log, and streamlb's own
// `admin` endpoint, with nginx's checks and messages.
import { parseAdminListen } from "../values/admin-listen.ts";
import {
  accessLogEntry,
  ANY_NAME,
  BUILTIN_LOG_FORMATS,
  DEFAULT_ACCESS_LOG_FORMAT,
  logFormatError,
  sameAsBuiltin,
} from "../values/log-format.ts";
import {
  type AccessLogConfig,
  type AdminConfig,
  type ErrorLogConfig,
  LOG_LEVELS,
  type LogEscape,
  type LogFormatConfig,
  type LogLevel,
} from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { isSyslogPath, parseSyslogTarget, syslogAccessLogError } from "../values/syslog-target.ts";
import { parseSize, parseTime } from "../values/units.ts";
import { atoi } from "../values/kinds.ts";
import type { ReaderContext } from "./context.ts";

/** What the logging directives of one file share as it is read. */
export interface LogState {
  /** The first main error_log; null until one is read. */
  errorLog: ErrorLogConfig | null;
  /** The main error_log lines after the first. */
  readonly moreErrorLogs: ErrorLogConfig[];
  /** log_format definitions, by name (access_log finds them case-insensitively). */
  readonly logFormats: Map<string, LogFormatConfig>;
}

/** The access_log directives of one level (stream{} or server{}): `off` there wins over all. */
export interface AccessLogLevel {
  readonly logs: AccessLogConfig[];
  off: boolean;
}

export function effectiveAccessLog(level: AccessLogLevel): AccessLogConfig[] {
  return level.off ? [] : level.logs;
}

/** The main context's `error_log`: the first is Config.errorLog, later ones add logs. */
export function mainErrorLog(cx: ReaderContext, logs: LogState, d: NginxDirective): void {
  const log = errorLogEntry(cx, d);
  if (!log) return;
  if (logs.errorLog) logs.moreErrorLogs.push(log);
  else logs.errorLog = log;
}

/** access_log and error_log in stream{} or a server{}; false for any other directive. */
export function blockLogDirective(
  cx: ReaderContext,
  logs: LogState,
  d: NginxDirective,
  level: { readonly accessLog: AccessLogLevel; readonly errorLogs: ErrorLogConfig[] },
): boolean {
  if (d.name === "access_log") accessLog(cx, logs, d, level.accessLog);
  else if (d.name !== "error_log") return false;
  else {
    const log = errorLogEntry(cx, d);
    if (log) level.errorLogs.push(log);
  }
  return true;
}

/** `error_log FILE|stderr|syslog:… [LEVEL]` (ngx_log_set_log); null for nginx's debug-only memory buffer. */
function errorLogEntry(cx: ReaderContext, d: NginxDirective): ErrorLogConfig | null {
  const [path, ...levels] = d.args as [string, ...string[]];
  let level: LogLevel | null = null;
  for (const l of levels) {
    if ((LOG_LEVELS as readonly string[]).includes(l)) {
      if (level !== null) cx.fail(d, `duplicate log level "${l}"`);
      level = l as LogLevel;
    } else if (/^debug_(core|alloc|mutex|event|http|mail|stream)$/.test(l)) {
      level = "debug";
    } else {
      cx.fail(d, `invalid log level "${l}"`);
    }
  }
  if (path.startsWith("memory:")) {
    // A debugging aid (nginx --with-debug): nothing reads it, so nothing is lost.
    cx.warn(d, `error_log to memory is not supported and is ignored`);
    return null;
  }
  if (isSyslogPath(path)) {
    const target = parseSyslogTarget(path);
    if ("error" in target) cx.fail(d, target.error);
  }
  return { path, level: level ?? "error" };
}

/** streamlb's own `admin ADDRESS [token=TOKEN];`: the status, metrics and runtime API endpoint. */
export function adminDirective(cx: ReaderContext, d: NginxDirective): AdminConfig {
  const [address, ...params] = d.args as [string, ...string[]];
  const at = parseAdminListen(address);
  if (!at) cx.fail(d, `invalid address "${address}" in "admin" directive: expected a port, host:port or [v6]:port`);
  let token: string | null = null;
  let insecure = false;
  for (const p of params) {
    // Listening beyond loopback without a token must be asked for (core/admin.ts refuses it otherwise).
    if (p === "insecure") {
      insecure = true;
      continue;
    }
    if (!p.startsWith("token=") || p.length === "token=".length) cx.fail(d, `invalid parameter "${p}"`);
    token = p.slice("token=".length);
  }
  return { ...at, token, ...(insecure ? { insecure } : {}), loc: cx.loc(d) };
}

/** `log_format NAME [escape=default|json|none] STRING...` (ngx_stream_log_set_format). */
export function logFormat(cx: ReaderContext, logs: LogState, d: NginxDirective): void {
  const [name, ...rest] = d.args as [string, ...string[]];
  if (logs.logFormats.has(name)) cx.fail(d, `duplicate "log_format" name "${name}"`);
  let escape: LogEscape = "default";
  if (rest[0]?.startsWith("escape=")) {
    const value = rest.shift()!.slice("escape=".length);
    if (value !== "default" && value !== "json" && value !== "none") cx.fail(d, `unknown log format escaping "${value}"`);
    escape = value;
  }
  const format = rest.join("");
  const problem = logFormatError(format, ANY_NAME);
  if (problem) cx.fail(d, problem);
  // A copy of a built-in format (what `streamlb convert` writes for nginx) is that format.
  if (sameAsBuiltin(name, escape, format)) return;
  logs.logFormats.set(name, { name, escape, format, loc: cx.loc(d) });
}

/** `access_log PATH [FORMAT] [buffer=SIZE] [flush=TIME] [gzip[=N]] [if=COND]` or `access_log off`. */
export function accessLog(cx: ReaderContext, logs: LogState, d: NginxDirective, level: AccessLogLevel): void {
  const [path, ...params] = d.args as [string, ...string[]];
  if (path === "off") {
    if (params.length > 0) cx.fail(d, `invalid parameter "${params[0]}"`);
    level.off = true;
    return;
  }
  // nginx requires the format; streamlb falls back to the built-in "basic".
  let format = DEFAULT_ACCESS_LOG_FORMAT;
  if (params.length > 0 && !/^(buffer=|flush=|gzip(=|$)|if=)/.test(params[0]!)) {
    const name = params.shift()!;
    const found = findLogFormat(logs, name);
    if (!found) cx.fail(d, `unknown log format "${name}"`);
    format = found;
  }
  let bufferSize: number | null = null;
  let flushMs: number | null = null;
  let gzip: number | null = null;
  let condition: string | null = null;
  for (const p of params) {
    if (p.startsWith("buffer=")) {
      const size = parseSize(p.slice("buffer=".length));
      if (!size) cx.fail(d, `invalid buffer size "${p.slice("buffer=".length)}"`);
      bufferSize = size;
    } else if (p.startsWith("flush=")) {
      const ms = parseTime(p.slice("flush=".length), "ms");
      if (!ms) cx.fail(d, `invalid flush time "${p.slice("flush=".length)}"`);
      flushMs = ms;
    } else if (p === "gzip" || p.startsWith("gzip=")) {
      const n = p === "gzip" ? 1 : atoi(p.slice("gzip=".length));
      if (n === null || n < 1 || n > 9) cx.fail(d, `invalid compression level "${p.slice("gzip=".length)}"`);
      gzip = n;
    } else if (p.startsWith("if=")) {
      condition = p.slice("if=".length);
    } else {
      cx.fail(d, `invalid parameter "${p}"`);
    }
  }
  if (flushMs !== null && bufferSize === null) cx.fail(d, `no buffer is defined for access_log "${path}"`);
  if (isSyslogPath(path)) {
    const error = syslogAccessLogError(path, bufferSize !== null || gzip !== null);
    if (error) cx.fail(d, error);
  }
  level.logs.push(accessLogEntry({ path, format, bufferSize, flushMs, condition, gzip, loc: cx.loc(d) }));
}

/** A log_format defined so far, or a built-in one, by nginx's case-insensitive match. */
function findLogFormat(logs: LogState, name: string): string | null {
  const lower = name.toLowerCase();
  for (const f of logs.logFormats.keys()) if (f.toLowerCase() === lower) return f;
  for (const f of BUILTIN_LOG_FORMATS.keys()) if (f === lower) return f;
  return null;
}
