// `streamlb convert` for the admin endpoint, log formats and access logs, in both spellings,
// so what is written reads back into the same Config. An access_log every server shares is
// written once in stream{}, as a person would (and as nginx merges it back).
import { formatHostPort } from "../values/address.ts";
import { BUILTIN_LOG_FORMATS } from "../values/log-format.ts";
import type { AccessLogConfig, AdminConfig, Config, LogEscape, ServerConfig } from "../model.ts";
import { formatSize, formatTime } from "../values/units.ts";

/**
 * The access_log to write in stream{}: the one most servers have (the first of a tie); the
 * others then write their own, or `off`. [] when that is no log at all.
 */
export function streamLevelAccessLog(config: Config): readonly AccessLogConfig[] {
  let best: readonly AccessLogConfig[] = [];
  let bestCount = 0;
  for (const s of config.stream.servers) {
    const count = config.stream.servers.filter((o) => sameLogs(o.accessLog, s.accessLog)).length;
    if (count > bestCount) [best, bestCount] = [s.accessLog, count];
  }
  return best;
}

/** A server's access_log when it differs from stream{}'s: its logs, [] for `off`; null = inherited. */
export function serverAccessLog(server: ServerConfig, level: readonly AccessLogConfig[]): readonly AccessLogConfig[] | null {
  return sameLogs(server.accessLog, level) ? null : server.accessLog;
}

function sameLogs(a: readonly AccessLogConfig[], b: readonly AccessLogConfig[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (l, i) =>
        l.path === b[i]!.path && l.format === b[i]!.format && l.bufferSize === b[i]!.bufferSize &&
        l.flushMs === b[i]!.flushMs && (l.condition ?? null) === (b[i]!.condition ?? null) &&
        (l.gzip ?? null) === (b[i]!.gzip ?? null),
    )
  );
}

function adminAddress(admin: AdminConfig): string {
  return formatHostPort(admin.host, admin.port);
}

// --- YAML ---

export function yamlAdminLine(admin: AdminConfig, scalar: (s: string) => string): string {
  const token = admin.token === null ? "" : `, token: ${scalar(admin.token)}`;
  const insecure = admin.insecure ? ", insecure: true" : "";
  return `admin: { listen: ${scalar(adminAddress(admin))}${token}${insecure} }`;
}

/** `log_formats:` entries (indented for stream:), or nothing. */
export function yamlLogFormats(config: Config, scalar: (s: string) => string): string[] {
  const formats = [...config.stream.logFormats.values()];
  if (formats.length === 0) return [];
  return [
    "  log_formats:",
    ...formats.map((f) =>
      f.escape === "default"
        ? `    ${scalar(f.name)}: ${JSON.stringify(f.format)}`
        : `    ${scalar(f.name)}: { escape: ${f.escape}, format: ${JSON.stringify(f.format)} }`
    ),
  ];
}

/** `access_log: ...` lines at `indent`, for one level. */
export function yamlAccessLog(logs: readonly AccessLogConfig[], indent: string, scalar: (s: string) => string): string[] {
  if (logs.length === 0) return [`${indent}access_log: off`];
  const item = (l: AccessLogConfig) => {
    const parts = [`path: ${scalar(l.path)}`, `format: ${scalar(l.format)}`];
    if (l.bufferSize !== null) parts.push(`buffer: ${formatSize(l.bufferSize)}`);
    if (l.flushMs !== null) parts.push(`flush: ${formatTime(l.flushMs)}`);
    if (l.gzip != null) parts.push(`gzip: ${l.gzip}`);
    if (l.condition != null) parts.push(`if: ${scalar(l.condition)}`);
    return `{ ${parts.join(", ")} }`;
  };
  if (logs.length === 1) return [`${indent}access_log: ${item(logs[0]!)}`];
  return [`${indent}access_log:`, ...logs.map((l) => `${indent}  - ${item(l)}`)];
}

// --- nginx ---

export function nginxAdminLine(admin: AdminConfig, word: (s: string) => string): string {
  const token = admin.token === null ? "" : ` ${word(`token=${admin.token}`)}`;
  const insecure = admin.insecure ? " insecure" : "";
  return `admin ${adminAddress(admin)}${token}${insecure};`;
}

/**
 * log_format lines for stream{}: the config's own, and the built-in ones its access logs
 * name (nginx has no built-in formats, so the file then runs under nginx too).
 */
export function nginxLogFormats(config: Config, word: (s: string) => string): string[] {
  const lines: string[] = [];
  const own = config.stream.logFormats;
  const used = new Set(config.stream.servers.flatMap((s) => s.accessLog.map((l) => l.format)));
  for (const [name, builtin] of BUILTIN_LOG_FORMATS) {
    if (used.has(name) && !own.has(name)) lines.push(logFormatLine(name, builtin.escape, builtin.format, word));
  }
  for (const f of own.values()) lines.push(logFormatLine(f.name, f.escape, f.format, word));
  return lines;
}

function logFormatLine(name: string, escape: LogEscape, format: string, word: (s: string) => string): string {
  return `log_format ${word(name)}${escape === "default" ? "" : ` escape=${escape}`} ${word(format)};`;
}

export function nginxAccessLog(logs: readonly AccessLogConfig[], word: (s: string) => string): string[] {
  if (logs.length === 0) return ["access_log off;"];
  return logs.map((l) => {
    const params = [word(l.path), word(l.format)];
    if (l.bufferSize !== null) params.push(`buffer=${formatSize(l.bufferSize)}`);
    if (l.flushMs !== null) params.push(`flush=${formatTime(l.flushMs)}`);
    if (l.gzip != null) params.push(`gzip=${l.gzip}`);
    if (l.condition != null) params.push(word(`if=${l.condition}`));
    return `access_log ${params.join(" ")};`;
  });
}
