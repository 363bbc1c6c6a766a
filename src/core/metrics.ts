// /metrics in Prometheus's text exposition format (version 0.0.4): a status snapshot
// rendered as conventionally named families (`_total` counters, base units, a few labels).
import type { ServerState, StatusSnapshot } from "./status.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const STATES: readonly ServerState[] = ["up", "down", "draining", "unhealthy", "unavail"];

type Labels = Readonly<Record<string, string>>;

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter", help: string, samples: ReadonlyArray<readonly [Labels, number]>): void {
    if (samples.length === 0) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** Label values escape backslash, double quote and newline. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export function renderMetrics(s: StatusSnapshot): string {
  const x = new Exposition();
  const startedSec = Date.parse(s.started) / 1000;
  x.family("streamlb_info", "gauge", "Version and runtime of this streamlb (always 1).", [
    [{ version: s.version, runtime: s.runtime.name, runtime_version: s.runtime.version }, 1],
  ]);
  x.family("streamlb_start_time_seconds", "gauge", "When this streamlb started, in seconds since the epoch.", [[{}, startedSec]]);
  x.family("streamlb_uptime_seconds", "gauge", "Seconds since this streamlb started.", [[{}, s.uptime_seconds]]);
  x.family("streamlb_config_generation", "gauge", "1 for the config it started with, +1 for every applied reload.", [
    [{}, s.config.generation],
  ]);
  x.family("streamlb_accepting", "gauge", "1 while listening, 0 while stopping.", [[{}, s.accepting ? 1 : 0]]);
  x.family("streamlb_sessions_active", "gauge", "Client sessions open now, over every listener.", [[{}, s.sessions.active]]);

  // A UDP listener may share its address with a TCP one: its series carry protocol="udp".
  const listeners = s.listeners.map((l) => {
    const labels: Record<string, string> = { listener: l.address, upstream: l.upstream };
    if (l.protocol === "udp") labels["protocol"] = "udp";
    return { l, labels };
  });
  x.family(
    "streamlb_listener_connections_total",
    "counter",
    "Client connections accepted on a listener.",
    listeners.map(({ l, labels }) => [labels, l.connections.total]),
  );
  x.family(
    "streamlb_listener_connections_active",
    "gauge",
    "Client sessions open now on a listener.",
    listeners.map(({ l, labels }) => [labels, l.connections.active]),
  );
  x.family(
    "streamlb_listener_sessions_total",
    "counter",
    "Finished client sessions on a listener, by nginx's $status (200, 502...).",
    listeners.flatMap(({ l, labels }) => Object.entries(l.sessions).map(([status, n]) => [{ ...labels, status }, n] as const)),
  );
  x.family(
    "streamlb_listener_bytes_total",
    "counter",
    "Bytes received from clients and sent to them, counted when sessions end.",
    listeners.flatMap(({ l, labels }) => [
      [{ ...labels, direction: "received" }, l.bytes.received] as const,
      [{ ...labels, direction: "sent" }, l.bytes.sent] as const,
    ]),
  );
  x.family(
    "streamlb_listener_datagrams_dropped_total",
    "counter",
    "UDP datagrams dropped on a listener: no connection left for a new client, or a socket that took no more.",
    listeners.flatMap(({ l, labels }) => (l.datagrams_dropped === undefined ? [] : [[labels, l.datagrams_dropped] as const])),
  );

  const upstreams = Object.values(s.upstreams);
  x.family(
    "streamlb_upstream_servers",
    "gauge",
    "Servers in an upstream.",
    upstreams.map((u) => [{ upstream: u.name }, u.servers_total]),
  );
  x.family(
    "streamlb_upstream_servers_up",
    "gauge",
    "Servers of an upstream that take new sessions now.",
    upstreams.map((u) => [{ upstream: u.name }, u.servers_up]),
  );

  const servers = upstreams.flatMap((u) => u.servers.map((srv) => ({ srv, labels: { upstream: u.name, server: srv.address } })));
  const per = (pick: (srv: (typeof servers)[number]["srv"]) => number) =>
    servers.map(({ srv, labels }) => [labels, pick(srv)] as const);
  x.family(
    "streamlb_upstream_server_up",
    "gauge",
    "1 when the server takes new sessions, else 0.",
    per((v) => (v.state === "up" ? 1 : 0)),
  );
  x.family(
    "streamlb_upstream_server_state",
    "gauge",
    "The server's state (up, down, draining, unhealthy, unavail): 1 for the current one.",
    servers.flatMap(({ srv, labels }) => STATES.map((state) => [{ ...labels, state }, srv.state === state ? 1 : 0] as const)),
  );
  x.family("streamlb_upstream_server_weight", "gauge", "The server's weight.", per((v) => v.weight));
  x.family("streamlb_upstream_server_backup", "gauge", "1 for a backup server.", per((v) => (v.backup ? 1 : 0)));
  x.family(
    "streamlb_upstream_server_connections_active",
    "gauge",
    "Sessions connected (or connecting) to the server now.",
    per((v) => v.active),
  );
  x.family(
    "streamlb_upstream_server_connections_total",
    "counter",
    "Sessions that connected to the server.",
    per((v) => v.connections_total),
  );
  x.family(
    "streamlb_upstream_server_bytes_total",
    "counter",
    "Bytes sent to the server and received from it, counted when sessions end.",
    servers.flatMap(({ srv, labels }) => [
      [{ ...labels, direction: "sent" }, srv.bytes.sent] as const,
      [{ ...labels, direction: "received" }, srv.bytes.received] as const,
    ]),
  );
  x.family(
    "streamlb_upstream_server_connect_failures_total",
    "counter",
    "Failed connects to the server (errors and proxy_connect_timeout): nginx's passive failures.",
    per((v) => v.connect_failures),
  );
  x.family(
    "streamlb_upstream_server_unavailable_total",
    "counter",
    "Times max_fails took the server out for fail_timeout.",
    per((v) => v.unavailable_total),
  );
  const checked = servers.filter(({ srv }) => srv.health_checks !== null);
  x.family(
    "streamlb_upstream_server_health_checks_total",
    "counter",
    "Active health checks of the server, by result.",
    checked.flatMap(({ srv, labels }) => {
      const hc = srv.health_checks!;
      return [[{ ...labels, result: "pass" }, hc.checks - hc.fails] as const, [{ ...labels, result: "fail" }, hc.fails] as const];
    }),
  );
  return x.text();
}
