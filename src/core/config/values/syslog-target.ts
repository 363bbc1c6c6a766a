// `syslog:server=ADDR[:PORT][,facility=F][,severity=S][,tag=T][,nohostname]` (ngx_syslog.c):
// where a log goes over UDP, and the RFC 3164 header nginx puts before each message.
import { parseIPv4, parseIPv6 } from "../../variables/ip.ts";

export interface SyslogTarget {
  readonly host: string;
  readonly port: number;
  /** 0 (kern) .. 23 (local7, nginx's default). */
  readonly facility: number;
  /** access_log's severity (error logs use each line's level); 6 (info) unless given. */
  readonly severity: number;
  readonly tag: string;
  readonly nohostname: boolean;
}

const FACILITIES = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "intern",
  "lpr",
  "news",
  "uucp",
  "clock",
  "authpriv",
  "ftp",
  "ntp",
  "audit",
  "alert",
  "cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];
/** nginx's spelling ("error", "warn"), not syslog's ("err", "warning"); the index is the severity. */
export const SYSLOG_SEVERITIES = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"];

export function isSyslogPath(path: string): boolean {
  return path.startsWith("syslog:");
}

/** The target, or nginx's complaint about it. */
export function parseSyslogTarget(path: string): SyslogTarget | { readonly error: string } {
  let server: { host: string; port: number } | null = null;
  let facility: number | null = null;
  let severity: number | null = null;
  let tag: string | null = null;
  let nohostname = false;
  for (const p of path.slice("syslog:".length).split(",")) {
    if (p.startsWith("server=")) {
      if (server) return { error: `duplicate syslog "server"` };
      const parsed = syslogServer(p.slice(7));
      if ("error" in parsed) return parsed;
      server = parsed;
    } else if (p.startsWith("facility=")) {
      if (facility !== null) return { error: `duplicate syslog "facility"` };
      facility = FACILITIES.indexOf(p.slice(9));
      if (facility < 0) return { error: `unknown syslog facility "${p.slice(9)}"` };
    } else if (p.startsWith("severity=")) {
      if (severity !== null) return { error: `duplicate syslog "severity"` };
      severity = SYSLOG_SEVERITIES.indexOf(p.slice(9));
      if (severity < 0) return { error: `unknown syslog severity "${p.slice(9)}"` };
    } else if (p.startsWith("tag=")) {
      if (tag !== null) return { error: `duplicate syslog "tag"` };
      tag = p.slice(4);
      if (tag.length > 32) return { error: "syslog tag length exceeds 32" };
      if (!/^[0-9A-Za-z_]*$/.test(tag)) return { error: `syslog "tag" only allows alphanumeric characters and underscore` };
    } else if (p === "nohostname") {
      nohostname = true;
    } else {
      return { error: `unknown syslog parameter "${p}"` };
    }
  }
  if (!server) return { error: "no syslog server specified" };
  return { ...server, facility: facility ?? 23, severity: severity ?? 6, tag: tag ?? "nginx", nohostname };
}

/** An address with an optional port (514); names and unix: sockets are refused, not guessed at. */
function syslogServer(text: string): { host: string; port: number } | { error: string } {
  if (text.startsWith("unix:")) return { error: `unix sockets in syslog server "${text}" are not supported yet` };
  const m = text.startsWith("[") ? /^\[([^\]]*)\](?::(.*))?$/.exec(text) : /^([^:]*)(?::(.*))?$/.exec(text);
  const host = m?.[1] ?? "";
  if (host === "") return { error: `no host in syslog server "${text}"` };
  if (parseIPv4(host) === null && parseIPv6(host) === null) {
    return { error: `host names in syslog server "${text}" are not supported yet (write its address)` };
  }
  const portText = m![2];
  if (portText === undefined) return { host, port: 514 };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) return { error: `invalid port in syslog server "${text}"` };
  return { host, port };
}

/** `Dec  1 03:04:05`: RFC 3164's timestamp, local time, as ngx_cached_syslog_time. */
export function syslogTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const mon = months.slice(d.getMonth() * 3, d.getMonth() * 3 + 3);
  return `${mon} ${String(d.getDate()).padStart(2, " ")} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `<PRI>TIME HOST TAG: ` before each message (ngx_syslog_add_header). */
export function syslogHeader(t: SyslogTarget, severity: number, hostname: string, now: Date): string {
  const host = t.nohostname ? "" : `${hostname} `;
  return `<${t.facility * 8 + severity}>${syslogTime(now)} ${host}${t.tag}: `;
}

/**
 * access_log's rules for a `syslog:` path (ngx_stream_log_set_log): a target nginx accepts,
 * and no buffer (`gzip` asks for one too), since each line is its own datagram.
 */
export function syslogAccessLogError(path: string, buffered: boolean): string | null {
  const t = parseSyslogTarget(path);
  if ("error" in t) return t.error;
  return buffered ? "logs to syslog cannot be buffered" : null;
}
