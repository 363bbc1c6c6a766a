// /status over every worker process: the worker that serves it adds the other workers'
// snapshots to its own. Counters and gauges of sessions, connections and bytes are summed;
// what every worker shares or that only worker 0 knows (states, health verdicts, the last
// check) is the serving worker's. A part that is not a snapshot (a torn message) is skipped.
import type { ListenerStatus, ServerStatus, StatusSnapshot, UpstreamStatus } from "./status.ts";

type Part = Partial<StatusSnapshot>;

export function sumSnapshots(own: StatusSnapshot, parts: readonly unknown[]): StatusSnapshot {
  const others = parts.filter(isSnapshot);
  let active = own.sessions.active;
  for (const p of others) active += p.sessions!.active;
  const upstreams: Record<string, UpstreamStatus> = {};
  for (const [name, u] of Object.entries(own.upstreams)) {
    upstreams[name] = sumUpstream(u, others.map((p) => p.upstreams?.[name]).filter((x) => x !== undefined));
  }
  return {
    ...own,
    workers: 1 + others.length,
    sessions: { active },
    listeners: own.listeners.map((l) =>
      sumListener(l, others.flatMap((p) => p.listeners!.filter((o) => o.listen === l.listen && o.upstream === l.upstream)))
    ),
    upstreams,
  };
}

function isSnapshot(p: unknown): p is Part {
  const s = p as Part | null;
  return typeof s === "object" && s !== null && typeof s.sessions?.active === "number" && Array.isArray(s.listeners) &&
    typeof s.upstreams === "object" && s.upstreams !== null;
}

function sumListener(own: ListenerStatus, others: readonly ListenerStatus[]): ListenerStatus {
  const sessions: Record<string, number> = { ...own.sessions };
  let total = own.connections.total, active = own.connections.active;
  let received = own.bytes.received, sent = own.bytes.sent;
  for (const o of others) {
    total += o.connections.total;
    active += o.connections.active;
    received += o.bytes.received;
    sent += o.bytes.sent;
    for (const [status, n] of Object.entries(o.sessions)) sessions[status] = (sessions[status] ?? 0) + n;
  }
  return { ...own, connections: { total, active }, sessions, bytes: { received, sent } };
}

function sumUpstream(own: UpstreamStatus, others: readonly UpstreamStatus[]): UpstreamStatus {
  const servers = own.servers.map((s, i) => {
    // The same config lists the same servers in the same order in every worker.
    const theirs = others.map((o) => o.servers[i]).filter((o) => o?.address === s.address && o.backup === s.backup);
    return sumServer(s, theirs as ServerStatus[]);
  });
  return { ...own, servers };
}

function sumServer(own: ServerStatus, others: readonly ServerStatus[]): ServerStatus {
  let active = own.active, total = own.connections_total, failures = own.connect_failures;
  let unavailable = own.unavailable_total, sent = own.bytes.sent, received = own.bytes.received;
  let last = own.last_session;
  let checks = own.health_checks;
  for (const o of others) {
    active += o.active;
    total += o.connections_total;
    failures += o.connect_failures;
    unavailable += o.unavailable_total;
    sent += o.bytes.sent;
    received += o.bytes.received;
    if (o.last_session !== null && (last === null || o.last_session > last)) last = o.last_session;
    if (o.health_checks && checks) {
      checks = { checks: checks.checks + o.health_checks.checks, fails: checks.fails + o.health_checks.fails };
    }
  }
  return {
    ...own,
    active,
    connections_total: total,
    connect_failures: failures,
    unavailable_total: unavailable,
    bytes: { sent, received },
    last_session: last,
    health_checks: checks,
  };
}
