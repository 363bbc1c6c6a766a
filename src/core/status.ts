// One snapshot of a running streamlb for its operator: what /status returns as JSON, and
// what /metrics, /readyz and the status page are made from. Built on request from the
// counters the hot path already keeps; nothing here runs per session.
import type { Balancer, ListenerInfo } from "./balancer.ts";
import { formatTime } from "./config/values/units.ts";
import type { Peer, Upstream } from "./upstream.ts";

/**
 * A server's state in NGINX Plus's words: `down` (config or API), `draining`, `unhealthy`
 * (its active check failed), `unavail` (max_fails passive failures within fail_timeout),
 * else `up`. The first that applies wins.
 */
export type ServerState = "up" | "down" | "draining" | "unhealthy" | "unavail";

export interface LastCheck {
  readonly ok: boolean;
  readonly detail: string;
  /** ISO 8601. */
  readonly at: string;
}

export interface ServerStatus {
  readonly address: string;
  readonly backup: boolean;
  readonly weight: number;
  readonly state: ServerState;
  /** `down` as configured or set through the API. */
  readonly down: boolean;
  readonly drain: boolean;
  /** The active health check's verdict ("unchecked" without checks). */
  readonly health: string;
  /** The last active health check; null without checks or before the first. */
  readonly last_check: LastCheck | null;
  readonly health_checks: { readonly checks: number; readonly fails: number } | null;
  /** Sessions connected to it now, and in all. */
  readonly active: number;
  readonly connections_total: number;
  readonly max_conns: number;
  /** Passive failures counted now (toward max_fails), and connect failures in all. */
  readonly fails: number;
  readonly connect_failures: number;
  /** Times max_fails took it out. */
  readonly unavailable_total: number;
  readonly max_fails: number;
  readonly fail_timeout: string;
  /** Bytes sent to the server and received from it (counted when sessions end). */
  readonly bytes: { readonly sent: number; readonly received: number };
  /** ISO 8601 of the last session it got; null = none yet. */
  readonly last_session: string | null;
}

export interface UpstreamStatus {
  readonly name: string;
  readonly method: string;
  /** The `state` file its server list is kept in; null = none. */
  readonly state_file: string | null;
  readonly servers_up: number;
  readonly servers_total: number;
  readonly servers: readonly ServerStatus[];
}

export interface ListenerStatus {
  readonly listen: string;
  readonly address: string;
  readonly upstream: string;
  readonly protocol: "tcp" | "udp";
  /** UDP: datagrams dropped (no connection left for a new client, or a socket that took no more). */
  readonly datagrams_dropped?: number;
  readonly connections: { readonly total: number; readonly active: number };
  /** Finished sessions by nginx's $status. */
  readonly sessions: Readonly<Record<string, number>>;
  readonly bytes: { readonly received: number; readonly sent: number };
}

export interface StatusSnapshot {
  readonly version: string;
  readonly runtime: { readonly name: string; readonly version: string };
  readonly pid: number;
  /** With worker processes: how many workers' counts this sums (status-sum.ts); absent in a lone process. */
  readonly workers?: number;
  readonly started: string;
  readonly uptime_seconds: number;
  readonly config: { readonly file: string | null; readonly generation: number };
  /** False while stopping (no new connections are taken). */
  readonly accepting: boolean;
  readonly sessions: { readonly active: number };
  readonly listeners: readonly ListenerStatus[];
  /** By name, in config order. */
  readonly upstreams: Readonly<Record<string, UpstreamStatus>>;
}

export interface SnapshotSource {
  readonly version: string;
  readonly runtime: { readonly name: string; readonly version: string; readonly pid: number };
  readonly startedMs: number;
  readonly accepting: boolean;
  readonly balancer: Balancer;
}

export function snapshot(src: SnapshotSource, nowMs = Date.now()): StatusSnapshot {
  const b = src.balancer;
  const upstreams: Record<string, UpstreamStatus> = {};
  for (const u of b.upstreamList()) upstreams[u.name] = upstreamStatus(u);
  return {
    version: src.version,
    runtime: { name: src.runtime.name, version: src.runtime.version },
    pid: src.runtime.pid,
    started: new Date(src.startedMs).toISOString(),
    uptime_seconds: Math.max(0, (nowMs - src.startedMs) / 1000),
    config: { file: b.current?.file ?? null, generation: b.generation },
    accepting: src.accepting,
    sessions: { active: b.activeSessions },
    listeners: b.listeners().map((l) => listenerStatus(l)),
    upstreams,
  };
}

function listenerStatus(l: ListenerInfo): ListenerStatus {
  const s = l.stats;
  return {
    listen: l.configured,
    address: `${l.host}:${l.port}`,
    upstream: l.upstream,
    protocol: l.protocol,
    ...(l.udp ? { datagrams_dropped: l.udp.dropped } : {}),
    connections: { total: s.connections, active: s.active },
    sessions: { ...s.sessions },
    bytes: { received: s.bytesReceived, sent: s.bytesSent },
  };
}

export function upstreamStatus(u: Upstream): UpstreamStatus {
  const now = u.clock();
  // Read structurally: health checks may or may not be part of this build's model.
  const checked = (u.config as { readonly healthCheck?: unknown }).healthCheck != null;
  const servers = [...u.allPeers()].map((p) => serverStatus(p, now, checked));
  return {
    name: u.name,
    method: methodName(u),
    state_file: u.config.state ?? null,
    servers_up: servers.filter((s) => s.state === "up").length,
    servers_total: servers.length,
    servers,
  };
}

function methodName(u: Upstream): string {
  const m = u.config.method;
  switch (m.kind) {
    case "hash":
      if (m.bounded !== undefined) return `hash consistent bounded=${m.bounded}`;
      return m.consistent ? "hash consistent" : "hash";
    case "random":
      return m.two ? (m.leastConn ? "random two least_conn" : "random two") : "random";
    default:
      return m.kind;
  }
}

/** The active-check fields a Peer carries once health checks run (absent before). */
type CheckedPeer = Peer & {
  readonly lastCheck?: { readonly ok: boolean; readonly detail: string; readonly atMs: number } | null;
  readonly stats: Peer["stats"] & { readonly checks?: number; readonly checkFailures?: number };
};

export function serverState(p: Peer, nowSec: number): ServerState {
  if (p.configDown) return "down";
  if (p.draining) return "draining";
  if (p.health === "unhealthy") return "unhealthy";
  if (p.failedOut(nowSec)) return "unavail";
  return "up";
}

export function serverStatus(peer: Peer, nowSec: number, checked: boolean): ServerStatus {
  const p = peer as CheckedPeer;
  const check = p.lastCheck ?? null;
  const checks = checked && typeof p.stats.checks === "number" ? p.stats.checks : null;
  return {
    address: p.address,
    backup: p.config.backup,
    weight: p.weight,
    state: serverState(p, nowSec),
    down: p.configDown,
    drain: p.draining,
    health: p.health,
    last_check: check ? { ok: check.ok, detail: check.detail, at: new Date(check.atMs).toISOString() } : null,
    health_checks: checks === null ? null : { checks, fails: p.stats.checkFailures ?? 0 },
    active: p.conns,
    connections_total: p.stats.sessions,
    max_conns: p.maxConns,
    fails: p.fails,
    connect_failures: p.stats.connectFailures,
    unavailable_total: p.stats.disabled,
    max_fails: p.maxFails,
    fail_timeout: formatTime(p.config.failTimeoutMs),
    bytes: p.bytes(),
    last_session: p.stats.lastSessionMs ? new Date(p.stats.lastSessionMs).toISOString() : null,
  };
}
