// The one validated configuration model. Every loader (YAML, nginx) produces it; the
// balancer consumes only it. Names follow nginx's directives; times are milliseconds.

// Where a setting was written; its own file so the model's parts (TLS, upstreams) share it.
import type { SourceLoc } from "./source-loc.ts";
export type { SourceLoc } from "./source-loc.ts";

// The defaults live with their rows in schema/ (main.ts, proxy.ts, upstream-server.ts).

// The TLS settings and the upstream{} settings have their own files (model-tls.ts,
// model-upstream.ts), part of this model.
import type { ResolverConfig, UpstreamConfig } from "./model-upstream.ts";
export type {
  BalanceMethod,
  HealthCheckConfig,
  HealthExpect,
  ResolverConfig,
  UpstreamConfig,
  UpstreamServerConfig,
  ZoneConfig,
} from "./model-upstream.ts";
export { DEFAULT_HEALTH_CHECK } from "./model-upstream.ts";
import type { ServerTlsConfig } from "./model-tls.ts";
export type { CertificatePair, ServerTlsConfig, TlsProtocol } from "./model-tls.ts";

export const LOG_LEVELS = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** The file the config came from (or "<embedded default>"), for messages. */
  readonly file: string;
  readonly pid: string | null;
  readonly workerProcesses: number | "auto";
  /** worker_shutdown_timeout: how long live sessions may drain on quit/reload; 0 = no limit. */
  readonly workerShutdownTimeoutMs: number;
  /**
   * streamlb's own: when set, SIGTERM drains like SIGQUIT for at most this long (containers
   * send TERM on stop); when null, TERM is nginx's fast stop.
   */
  readonly shutdownGraceMs: number | null;
  /**
   * events { worker_connections }: the sockets one process may hold, listeners and both ends
   * of every session counted, as nginx counts them.
   */
  readonly workerConnections: number;
  readonly errorLog: ErrorLogConfig;
  /** The main context's further error_log lines: nginx writes each line to every one its level takes. */
  readonly moreErrorLogs?: readonly ErrorLogConfig[];
  /** The status/metrics/runtime-API endpoint (streamlb's own); null = none. */
  readonly admin: AdminConfig | null;
  readonly stream: StreamConfig;
}

export interface AdminConfig {
  /** Loopback unless the config names another address: the API can change upstreams. */
  readonly host: string;
  /** 0 asks the system for a free port (tests). */
  readonly port: number;
  /** When set, every endpoint but /healthz needs `Authorization: Bearer TOKEN`. */
  readonly token: string | null;
  /** Listening beyond loopback without a token is refused unless this says so (`insecure`). */
  readonly insecure?: boolean;
  readonly loc: SourceLoc;
}

export interface ErrorLogConfig {
  readonly path: string; // "stderr", a file, or `syslog:server=…` (values/syslog-target.ts)
  readonly level: LogLevel;
}

export interface StreamConfig {
  /** Every upstream, including the implicit ones made for `proxy_pass host:port`. */
  readonly upstreams: ReadonlyMap<string, UpstreamConfig>;
  readonly servers: readonly ServerConfig[];
  /** `log_format`s the config defines (the built-in ones are not listed here). */
  readonly logFormats: ReadonlyMap<string, LogFormatConfig>;
  /**
   * access_log files of stream{} that every server{} overrides: nginx still opens (creates)
   * them at load, so streamlb does too; nothing is written to them.
   */
  readonly unusedLogFiles?: readonly string[];
  /** map, geo and split_clients blocks, in config order (a later definition of a name wins). */
  readonly variables: readonly VariableBlockConfig[];
  /** stream{}'s `resolver`: the one `resolve` servers use when their upstream names none. */
  readonly resolver?: ResolverConfig | null;
  /** stream{}'s resolver_timeout (nginx's default 30s when unset). */
  readonly resolverTimeoutMs?: number | null;
  /** `limit_conn_zone KEY zone=NAME:SIZE` lines, by zone name; absent = none. */
  readonly limitConnZones?: ReadonlyMap<string, LimitConnZoneConfig>;
}

/** `limit_conn_zone KEY zone=NAME:SIZE`: sessions are counted per evaluated KEY in NAME. */
export interface LimitConnZoneConfig {
  readonly name: string;
  /** A complex value (`$binary_remote_addr`). */
  readonly key: string;
  /** The size as written (`1m`): streamlb's counts live in the master, not in this memory. */
  readonly size: string;
  readonly loc: SourceLoc;
}

/** `limit_conn ZONE N`. */
export interface LimitConnRule {
  readonly zone: string;
  readonly conn: number;
  readonly loc: SourceLoc;
}

export const LIMIT_CONN_LOG_LEVELS = ["info", "notice", "warn", "error"] as const;
export type LimitConnLogLevel = (typeof LIMIT_CONN_LOG_LEVELS)[number];

/** limit_conn as nginx merges it: the server's own lines, else stream{}'s. */
export interface LimitConnConfig {
  readonly limits: readonly LimitConnRule[];
  readonly dryRun: boolean;
  readonly logLevel: LimitConnLogLevel;
}

/**
 * A block that defines a variable (ngx_stream_map/geo/split_clients): its source, the
 * variable, and its lines as written (includes expanded), compiled when the config is checked.
 */
export interface VariableBlockConfig {
  readonly kind: "map" | "geo" | "split_clients";
  /** The source complex value; null for `geo $var` (it reads $remote_addr). */
  readonly source: string | null;
  /** `$name`, as written. */
  readonly variable: string;
  readonly lines: readonly ConfigLine[];
  readonly loc: SourceLoc;
}

/** One line inside a block: its words (the first is the key or keyword). */
export interface ConfigLine {
  readonly args: readonly string[];
  readonly loc: SourceLoc;
}

/** nginx's stream `log_format NAME [escape=default|json|none] STRING...`. */
export interface LogFormatConfig {
  readonly name: string;
  readonly escape: LogEscape;
  /** The strings of the directive, joined (nginx concatenates them). */
  readonly format: string;
  readonly loc: SourceLoc;
}

export type LogEscape = "default" | "json" | "none";

/** One `access_log PATH FORMAT [buffer=SIZE] [flush=TIME]` (nginx writes every one that applies). */
export interface AccessLogConfig {
  readonly path: string;
  /** A log_format name or a built-in one. */
  readonly format: string;
  /** Written only when set; streamlb always buffers (see access-log.ts for the defaults). */
  readonly bufferSize: number | null;
  readonly flushMs: number | null;
  /** `if=CONDITION`: a complex value; the session is logged unless it is empty or "0". */
  readonly condition?: string | null;
  /** `gzip[=LEVEL]`: each flushed batch is written as one gzip member (the level is nginx's hint). */
  readonly gzip?: number | null;
  readonly loc: SourceLoc;
}

/** The proxy_* settings a `server {}` inherits from `stream {}` (nginx's merge rules). */
export interface ProxySettings {
  readonly proxyConnectTimeoutMs: number;
  /** proxy_timeout: idle time across both directions before the session is closed. */
  readonly proxyTimeoutMs: number;
  readonly proxyNextUpstream: boolean;
  /** 0 = as many tries as the upstream has servers. */
  readonly proxyNextUpstreamTries: number;
  /** 0 = no limit. */
  readonly proxyNextUpstreamTimeoutMs: number;
  readonly proxyBufferSize: number;
  readonly tcpNodelay: boolean;
  readonly proxyHalfClose: boolean;
  readonly proxySocketKeepalive: boolean;
  /**
   * NGINX Plus's proxy_session_drop: when a server is marked down by its health check, the
   * sessions this server{} has open to it are closed instead of left to finish.
   */
  readonly proxySessionDrop: boolean;
  /** UDP: client datagrams after which a session takes no more (0 = no limit). */
  readonly proxyRequests: number;
  /**
   * UDP: replies expected per client datagram; the session ends once they came. nginx's
   * unset value, 2147483647, means "no limit" (and a timeout with it is a normal end).
   */
  readonly proxyResponses: number;
  /**
   * proxy_upload_rate / proxy_download_rate: bytes per second read from the client / from the
   * upstream; 0 = unlimited. Text with variables is evaluated per session (rate-value.ts).
   */
  readonly proxyUploadRate: number | string;
  readonly proxyDownloadRate: number | string;
  /** proxy_protocol: send a PROXY header (v1 for "on", v2) to the upstream before any client byte. */
  readonly proxyProtocol: "off" | "on" | "v2";
  /** How long a `listen … proxy_protocol` client has to send its PROXY header. */
  readonly proxyProtocolTimeoutMs: number;
  /** ssl_preread: read the ClientHello for $ssl_preread_* before the content phase. */
  readonly sslPreread: boolean;
  readonly prereadBufferSize: number;
  /** preread_timeout: one deadline for the whole preread phase. */
  readonly prereadTimeoutMs: number;
}

export interface ListenConfig {
  /** null listens on every address, as nginx's `listen 8000` does. */
  readonly host: string | null;
  readonly port: number;
  /** `listen … ssl`: clients speak TLS, terminated with the server's ssl_* settings. */
  readonly ssl?: boolean;
  /** `listen … default_server`: this server takes the address's clients no server_name matched. */
  readonly defaultServer?: boolean;
  /** `listen … udp`: datagrams, one session per client address:port (datagram-session.ts). */
  readonly udp?: boolean;
  /** `listen … reuseport`: each worker binds its own socket and the kernel spreads clients. */
  readonly reusePort?: boolean;
  /** `listen unix:/path`: a Unix-domain socket (host null and port 0 then). */
  readonly unixPath?: string;
  /** `listen … proxy_protocol`: each client first sends a PROXY protocol header (v1 or v2). */
  readonly proxyProtocol?: boolean;
  readonly loc: SourceLoc;
}

/** The key a listening socket is known by: TCP and UDP may share an address and port. */
export function listenKey(
  l: { readonly host: string | null; readonly port: number; readonly udp?: boolean; readonly unixPath?: string },
): string {
  if (l.unixPath !== undefined) return `unix:${l.unixPath}${l.udp ? " udp" : ""}`;
  const hp = l.host === null ? `*:${l.port}` : l.host.includes(":") ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
  return l.udp ? `${hp} udp` : hp;
}

export interface ServerConfig {
  readonly listen: readonly ListenConfig[];
  /**
   * nginx's content handler is exactly one of these three (the loaders refuse two and none):
   * the upstream this server balances over (implicit upstreams are named "host:port"), or a
   * complex value naming one per session (`proxy_pass $upstream`)...
   */
  readonly proxyPass: string | null;
  /** ...or `return VALUE`: the complex value is written to the client, which is then closed... */
  readonly return: string | null;
  /**
   * ...or `pass ADDRESS` (an address, or text with variables): the connection starts over on
   * this config's listener of that address; absent when the handler is another.
   */
  readonly pass?: string;
  /** `set $var VALUE` lines, run in order before the access phase. */
  readonly set: readonly SetConfig[];
  readonly proxy: ProxySettings;
  /** access_log as nginx merges it: the server's own, else stream{}'s; [] = off (the default). */
  readonly accessLog: readonly AccessLogConfig[];
  /** allow/deny as nginx merges them: the server's own rules, else stream{}'s; [] = everyone. */
  readonly access: readonly AccessRuleConfig[];
  /** ssl_* and proxy_ssl_* as nginx merges them; absent = nginx's defaults (tls-config.ts). */
  readonly tls?: ServerTlsConfig;
  /** server_name's names as written (exact lower-cased, `*.x`, `x.*`, `.x`, `~regex`); absent = none. */
  readonly serverNames?: readonly string[];
  /**
   * proxy_bind, merged (the server's own, else stream{}'s): the upstream socket's local
   * address, an address or text with variables; absent = the system's choice (`off`).
   */
  readonly proxyBind?: string;
  /** limit_conn, merged; absent = no limits (dry run off, log level error). */
  readonly limitConn?: LimitConnConfig;
  /**
   * set_real_ip_from as nginx merges it (the server's own, else stream{}'s): peers whose PROXY
   * header gives the client's address (an address, a CIDR or `unix:`); absent or [] = none.
   */
  readonly realipFrom?: readonly string[];
  /** error_log, merged (the server's own lines, else stream{}'s); absent = the main error logs. */
  readonly errorLogs?: readonly ErrorLogConfig[];
  readonly loc: SourceLoc;
}

/** `set $variable VALUE`. */
export interface SetConfig {
  readonly variable: string;
  readonly value: string;
  readonly loc: SourceLoc;
}

/** One `allow` or `deny` line: an address, a CIDR, `all` or `unix:`, as written. */
export interface AccessRuleConfig {
  readonly action: "allow" | "deny";
  readonly address: string;
  readonly loc: SourceLoc;
}
