// The upstream{} part of the configuration model (config/model.ts re-exports it): balancing
// method, servers, zone, resolver and active health checks, named after nginx's directives.
import type { SourceLoc } from "./source-loc.ts";

/** `resolver ADDRESS... [valid=TIME] [ipv4=on|off] [ipv6=on|off]`: DNS servers asked at run time. */
export interface ResolverConfig {
  /** The DNS servers as written (`127.0.0.1`, `127.0.0.1:5353`, `[::1]`); port 53 when left out. */
  readonly addresses: readonly string[];
  readonly servers: readonly { readonly host: string; readonly port: number }[];
  /** `valid=`: overrides every answer's TTL (negative ones too); null = the TTLs. */
  readonly validMs: number | null;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly loc: SourceLoc;
}

/** `zone NAME [SIZE]`: the upstream's peers live in a named zone (needed by `resolve`). */
export interface ZoneConfig {
  readonly name: string;
  /** Bytes; null when another upstream sizes the zone. */
  readonly size: number | null;
}

export type BalanceMethod =
  | { readonly kind: "round_robin" }
  | { readonly kind: "least_conn" }
  | {
    readonly kind: "hash";
    readonly key: string;
    readonly consistent: boolean;
    /** `bounded=C` (consistent only): no server takes more than ceil(C × average) live sessions. */
    readonly bounded?: number;
  }
  | { readonly kind: "random"; readonly two: boolean; readonly leastConn: boolean };

export interface UpstreamConfig {
  readonly name: string;
  readonly method: BalanceMethod;
  readonly servers: readonly UpstreamServerConfig[];
  /** True for the upstream nginx makes for `proxy_pass host:port`. */
  readonly implicit: boolean;
  /** The active health check every server of the group gets; null = none (passive only). */
  readonly healthCheck: HealthCheckConfig | null;
  /**
   * NGINX Plus's `state FILE`: the server list the admin API changes at run time is kept
   * there and, once the file exists, used instead of the config's servers on start and reload.
   */
  readonly state?: string | null;
  readonly zone?: ZoneConfig | null;
  /** The upstream's own `resolver` (nginx 1.27.3); its `resolve` servers use stream{}'s otherwise. */
  readonly resolver?: ResolverConfig | null;
  readonly resolverTimeoutMs?: number | null;
  readonly loc: SourceLoc;
}

export interface UpstreamServerConfig {
  /** The address as written (`127.0.0.1:6000`): it is the server's identity and its ketama seed. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `server unix:/path`: a Unix-domain socket (host and port unused then). */
  readonly unixPath?: string;
  readonly weight: number;
  /** 0 disables passive failure accounting. */
  readonly maxFails: number;
  /** nginx keeps fail_timeout in whole seconds. */
  readonly failTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxConns: number;
  readonly backup: boolean;
  readonly down: boolean;
  /** No new sessions, live ones finish (NGINX Plus's `drain`; the admin API sets it). */
  readonly drain: boolean;
  /**
   * NGINX Plus's slow_start: a server that comes back (after max_fails took it out, or an
   * active check found it unhealthy) ramps its weight up from 1 over this time; 0 = at once.
   */
  readonly slowStartMs: number;
  /**
   * `resolve`: `host` is a name the resolver looks up again as its TTL runs out; the line
   * stands for as many servers as the name has addresses (none until the first answer).
   */
  readonly resolve?: boolean;
  /** `service=NAME`: SRV records of the name give the servers, their ports and weights (port is 0). */
  readonly service?: string | null;
  readonly loc: SourceLoc;
}

/**
 * An active health check, as NGINX Plus's `health_check` + `match {}` and yaoweibin's `check`
 * say it. Every server of the upstream is probed on its own schedule.
 */
export interface HealthCheckConfig {
  /** Between the end of one check of a server and the start of its next. */
  readonly intervalMs: number;
  /** Each check is delayed by a random 0..jitter, so many servers are not probed at once. */
  readonly jitterMs: number;
  /** For the whole check: connect, send and the expected reply (health_check_timeout). */
  readonly timeoutMs: number;
  /** Consecutive failed checks that mark a server unhealthy (HAProxy's fall). */
  readonly fails: number;
  /** Consecutive passed checks that mark an unhealthy server healthy again (HAProxy's rise). */
  readonly passes: number;
  /** Probe this port instead of the server's. */
  readonly port: number | null;
  /**
   * A server starts unhealthy ("checking") until `passes` checks pass, when it first
   * appears and, unless persistent, after every reload.
   */
  readonly mandatory: boolean;
  /** A reload keeps the health of the servers that stay (only with mandatory, as in Plus). */
  readonly persistent: boolean;
  /**
   * Plus's `health_check udp`: probe with a datagram (send, or "nginx health check" without
   * one); without expect, no ICMP port unreachable within the timeout is a pass.
   */
  readonly udp: boolean;
  /** Bytes to send once connected, one character per byte (0-255); null sends nothing. */
  readonly send: string | null;
  /** What the reply must hold, within the first proxy_buffer_size bytes; null = connecting is enough. */
  readonly expect: HealthExpect | null;
}

export type HealthExpect =
  /** The reply contains these bytes (one character per byte), anywhere. */
  | { readonly kind: "bytes"; readonly bytes: string }
  /** The reply matches this regular expression (nginx `expect ~` / `~*`), matched bytewise. */
  | { readonly kind: "regex"; readonly pattern: string; readonly caseless: boolean };

/** NGINX Plus's defaults: every 5s, no jitter, 5s timeout, one failure down, one pass up. */
export const DEFAULT_HEALTH_CHECK: HealthCheckConfig = {
  intervalMs: 5000,
  jitterMs: 0,
  timeoutMs: 5000,
  fails: 1,
  passes: 1,
  port: null,
  mandatory: false,
  persistent: false,
  udp: false,
  send: null,
  expect: null,
};
