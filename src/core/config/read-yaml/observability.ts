// The YAML spelling of what makes streamlb observable, one to one with the nginx directives:
//   admin: { listen: "127.0.0.1:9000", token: "..." }          # admin 127.0.0.1:9000 token=...;
//   admin: { listen: "0.0.0.0:9000", insecure: true }          # admin 0.0.0.0:9000 insecure;
//   stream:
//     log_formats: { main: "$remote_addr $status" }            # log_format main '...';
//     log_formats: { js: { escape: json, format: "..." } }     # log_format js escape=json '...';
//     access_log: { path: /var/log/s.log, format: main, buffer: 64k, flush: 1s }
//     access_log: off                                          # or a list of several logs
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { parseAdminListen } from "../values/admin-listen.ts";
import {
  accessLogEntry,
  ANY_NAME,
  BUILTIN_LOG_FORMATS,
  DEFAULT_ACCESS_LOG_FORMAT,
  logFormatError,
  sameAsBuiltin,
} from "../values/log-format.ts";
import type { AccessLogConfig, AdminConfig, LogEscape, LogFormatConfig } from "../model.ts";
import type { YamlWalker } from "./walker.ts";
import { isSyslogPath, syslogAccessLogError } from "../values/syslog-target.ts";

export function yamlAdmin(w: YamlWalker, node: Node | null): AdminConfig {
  const e = w.entries(node, "admin", ["listen", "token", "insecure"]);
  const listenNode = e.get("listen")?.value ?? null;
  if (!listenNode) w.fail(node, `admin needs a listen address, such as "127.0.0.1:9000"`);
  const text = String(w.scalar(listenNode, "admin listen"));
  const at = parseAdminListen(text);
  if (!at) w.fail(listenNode, `invalid admin listen "${text}": expected a port, host:port or [v6]:port`);
  let token: string | null = null;
  if (e.has("token")) {
    token = w.string(e.get("token")!.value, "admin token");
    if (token === "") w.fail(e.get("token")!.value, `admin token must not be empty (leave it out for none)`);
  }
  // `insecure: true` allows listening beyond loopback without a token (core/admin.ts refuses it otherwise).
  const insecure = e.has("insecure") && w.flag(e.get("insecure")!.value, "admin insecure");
  return { ...at, token, ...(insecure ? { insecure } : {}), loc: w.loc(node) };
}

/** `log_formats: { NAME: "format" | { escape, format } }`; copies of a built-in one are that one. */
export function yamlLogFormats(w: YamlWalker, node: Node | null): LogFormatConfig[] {
  const out: LogFormatConfig[] = [];
  for (const { name, key, value } of w.namedEntries(node, "stream.log_formats")) {
    let escape: LogEscape = "default";
    let formatNode: Node | null = value;
    if (isMap(value)) {
      const f = w.entries(value, `log format "${name}"`, ["escape", "format"]);
      if (f.has("escape")) {
        const v = w.string(f.get("escape")!.value, "escape");
        if (v !== "default" && v !== "json" && v !== "none") {
          w.fail(f.get("escape")!.value, `unknown log format escaping "${v}" (expected default, json or none)`);
        }
        escape = v;
      }
      formatNode = f.get("format")?.value ?? null;
      if (!formatNode) w.fail(value, `log format "${name}" needs a format`);
    }
    const format = w.string(formatNode, `log format "${name}"`);
    const problem = logFormatError(format, ANY_NAME);
    if (problem) w.fail(formatNode, problem);
    if (!sameAsBuiltin(name, escape, format)) out.push({ name, escape, format, loc: w.loc(key) });
  }
  return out;
}

/** access_log at one level: null when it is not set there, [] for `off`. */
export function yamlAccessLog(
  w: YamlWalker,
  node: Node | null,
  what: string,
  formats: readonly LogFormatConfig[],
): AccessLogConfig[] {
  if (isScalar(node) && (node.value === false || String(node.value).toLowerCase() === "off")) return [];
  const items = isSeq(node) ? (node.items as Node[]) : [node];
  return items.map((item) => accessLogItem(w, item, what, formats));
}

function accessLogItem(w: YamlWalker, node: Node | null, what: string, formats: readonly LogFormatConfig[]): AccessLogConfig {
  // A bare path takes the default format.
  if (isScalar(node)) {
    const path = w.string(node, `${what} access_log`);
    const error = isSyslogPath(path) ? syslogAccessLogError(path, false) : null;
    if (error) w.fail(node, error);
    return { path, format: DEFAULT_ACCESS_LOG_FORMAT, bufferSize: null, flushMs: null, loc: w.loc(node) };
  }
  const e = w.entries(node, `${what} access_log`, ["path", "format", "buffer", "flush", "if", "gzip"]);
  const pathNode = e.get("path")?.value ?? null;
  if (!pathNode) w.fail(node, `${what} access_log needs a path (or is "off")`);
  const path = w.string(pathNode, "access_log path");
  let format = DEFAULT_ACCESS_LOG_FORMAT;
  if (e.has("format")) {
    const formatNode = e.get("format")!.value;
    const name = w.string(formatNode, "access_log format");
    // nginx finds the format case-insensitively.
    const lower = name.toLowerCase();
    const found = formats.find((f) => f.name.toLowerCase() === lower)?.name ??
      [...BUILTIN_LOG_FORMATS.keys()].find((f) => f === lower);
    if (!found) w.fail(formatNode, `unknown log format "${name}"`);
    format = found;
  }
  const bufferSize = e.has("buffer") ? w.size(e.get("buffer")!.value, "access_log buffer") : null;
  if (bufferSize === 0) w.fail(e.get("buffer")!.value, `invalid access_log buffer "0": it must be more than 0`);
  const flushMs = e.has("flush") ? w.time(e.get("flush")!.value, "access_log flush", "ms") : null;
  if (flushMs === 0) w.fail(e.get("flush")!.value, `invalid access_log flush "0": it must be more than 0`);
  // nginx's rule, kept so the config converts to an nginx.conf that means the same.
  if (flushMs !== null && bufferSize === null) w.fail(e.get("flush")!.key, `no buffer is defined for access_log "${path}"`);
  const condition = e.has("if") ? w.string(e.get("if")!.value, "access_log if") : null;
  const gzip = e.has("gzip") ? w.int(e.get("gzip")!.value, "access_log gzip", 1, 9) : null;
  if (isSyslogPath(path)) {
    const error = syslogAccessLogError(path, bufferSize !== null || gzip !== null);
    if (error) w.fail(pathNode, error);
  }
  return accessLogEntry({ path, format, bufferSize, flushMs, condition, gzip, loc: w.loc(node) });
}
