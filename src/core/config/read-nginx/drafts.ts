// What the reader collects for a stream{} (or tcp{}) block and its server{}s before nginx's
// merge turns them into ServerConfigs.
import type { AccessRuleConfig, ErrorLogConfig, ListenConfig, ProxySettings, SetConfig, SourceLoc } from "../model.ts";
import type { HealthScope } from "./health.ts";
import type { LimitConnDraft } from "./limit-conn.ts";
import type { AccessLogLevel } from "./logs.ts";
import type { TlsOverrides } from "./ssl.ts";

export type Family = "stream" | "tcp";
export type ProxyOverrides = { -readonly [K in keyof ProxySettings]?: ProxySettings[K] };

export interface ServerDraft {
  readonly listen: ListenConfig[];
  readonly accessLog: AccessLogLevel;
  /** allow/deny in this server{}, in order. */
  readonly access: AccessRuleConfig[];
  readonly limitConn: LimitConnDraft;
  /** set_real_ip_from in this server{}. */
  readonly realipFrom: string[];
  readonly errorLogs: ErrorLogConfig[];
  /** The content handler: the last of proxy_pass, return and pass wins, as in nginx. */
  handler: { readonly kind: "proxy_pass" | "return" | "pass"; readonly value: string; readonly loc: SourceLoc } | null;
  readonly set: SetConfig[];
  readonly overrides: ProxyOverrides;
  /** ssl_* and proxy_ssl_* of this server{}. */
  readonly tls: TlsOverrides;
  /** server_name's names, in order. */
  readonly serverNames: string[];
  /** health_check lines and health_check_timeout. */
  readonly health: HealthScope;
  readonly loc: SourceLoc;
}

export interface BlockDraft {
  readonly family: Family;
  readonly overrides: ProxyOverrides;
  readonly tls: TlsOverrides;
  readonly accessLog: AccessLogLevel;
  /** allow/deny in stream{}, for the servers that have none of their own. */
  readonly access: AccessRuleConfig[];
  readonly limitConn: LimitConnDraft;
  /** set_real_ip_from in stream{}, for the servers that have none of their own. */
  readonly realipFrom: string[];
  /** error_log in stream{}, for the servers that have none of their own. */
  readonly errorLogs: ErrorLogConfig[];
  readonly servers: ServerDraft[];
  /** health_check_timeout, inherited by its servers. */
  readonly health: HealthScope;
}
