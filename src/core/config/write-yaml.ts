// Config → streamlb's YAML, for `streamlb convert`: what yaml.ts reads back into the same
// Config. Only what differs from the defaults is written, so the result reads like a config a
// person wrote.
import { formatHostPort } from "./address.ts";
import {
  DEFAULT_PROXY_SETTINGS,
  DEFAULT_SERVER,
  DEFAULT_WORKER_CONNECTIONS,
  type BalanceMethod,
  type Config,
  type ListenConfig,
  type ProxySettings,
  type UpstreamServerConfig,
} from "./model.ts";
import { changedFields, declaredUpstreams, proxyValue, streamLevelSettings, type ProxyField } from "./write-common.ts";
import { yamlHealthCheckValue } from "./write-health.ts";
import { formatTime } from "./units.ts";
import {
  serverAccessLog,
  streamLevelAccessLog,
  yamlAccessLog,
  yamlAdminLine,
  yamlLogFormats,
} from "./write-observability.ts";

export function writeYamlConfig(config: Config, source?: string): string {
  const out: string[] = [`# streamlb config${source ? `, converted from ${source}` : ""}`];
  if (config.pid !== null) out.push(`pid: ${scalar(config.pid)}`);
  if (config.workerProcesses !== 1) out.push(`worker_processes: ${config.workerProcesses}`);
  if (config.workerShutdownTimeoutMs !== 0) {
    out.push(`worker_shutdown_timeout: ${formatTime(config.workerShutdownTimeoutMs)}`);
  }
  const log = config.errorLog;
  if (log.path !== "stderr" || log.level !== "error") {
    out.push(`error_log: { path: ${scalar(log.path)}, level: ${log.level} }`);
  }
  if (config.admin) out.push(yamlAdminLine(config.admin, scalar));
  if (config.workerConnections !== DEFAULT_WORKER_CONNECTIONS) {
    out.push(`events: { worker_connections: ${config.workerConnections} }`);
  }

  const stream: string[] = [];
  const level = streamLevelSettings(config);
  for (const f of changedFields(level, DEFAULT_PROXY_SETTINGS)) stream.push(`  ${f.name}: ${value(f, level)}`);
  stream.push(...yamlLogFormats(config, scalar));
  const accessLevel = streamLevelAccessLog(config);
  if (accessLevel.length > 0) stream.push(...yamlAccessLog(accessLevel, "  ", scalar));

  const upstreams = declaredUpstreams(config);
  if (upstreams.length > 0) stream.push("  upstreams:");
  for (const u of upstreams) {
    stream.push(`    ${scalar(u.name)}:`);
    const method = methodLine(u.method);
    if (method) stream.push(`      ${method}`);
    if (u.state) stream.push(`      state: ${scalar(u.state)}`);
    // An upstream kept in a state file may have no servers of its own.
    if (u.servers.length > 0) stream.push("      servers:");
    for (const s of u.servers) stream.push(`        - ${serverItem(s)}`);
    if (u.healthCheck) stream.push(`      health_check: ${yamlHealthCheckValue(u.healthCheck)}`);
  }

  if (config.stream.servers.length > 0) stream.push("  servers:");
  for (const s of config.stream.servers) {
    stream.push(`    - listen: ${listenValue(s.listen)}`);
    stream.push(`      proxy_pass: ${scalar(s.proxyPass)}`);
    if (s.access.length > 0) {
      stream.push(`      access: [${s.access.map((r) => `{ ${r.action}: ${scalar(r.address)} }`).join(", ")}]`);
    }
    for (const f of changedFields(s.proxy, level)) stream.push(`      ${f.name}: ${value(f, s.proxy)}`);
    const own = serverAccessLog(s, accessLevel);
    if (own) stream.push(...yamlAccessLog(own, "      ", scalar));
  }

  if (stream.length === 0) out.push("stream: {}");
  else out.push("stream:", ...stream);
  return `${out.join("\n")}\n`;
}

function value(f: ProxyField, settings: ProxySettings): string {
  return proxyValue(f, settings, { on: "true", off: "false" });
}

function methodLine(m: BalanceMethod): string | null {
  switch (m.kind) {
    case "round_robin":
      return null;
    case "least_conn":
      return "least_conn: true";
    case "hash":
      return m.consistent ? `hash: { key: ${scalar(m.key)}, consistent: true }` : `hash: ${scalar(m.key)}`;
    case "random":
      if (!m.two) return "random: true";
      return m.leastConn ? "random: { two: true, method: least_conn }" : "random: { two: true }";
  }
}

function serverItem(s: UpstreamServerConfig): string {
  const params: string[] = [];
  if (s.weight !== DEFAULT_SERVER.weight) params.push(`weight: ${s.weight}`);
  if (s.maxFails !== DEFAULT_SERVER.maxFails) params.push(`max_fails: ${s.maxFails}`);
  if (s.failTimeoutMs !== DEFAULT_SERVER.failTimeoutMs) params.push(`fail_timeout: ${formatTime(s.failTimeoutMs)}`);
  if (s.maxConns !== DEFAULT_SERVER.maxConns) params.push(`max_conns: ${s.maxConns}`);
  if (s.backup) params.push("backup: true");
  if (s.down) params.push("down: true");
  if (s.drain) params.push("drain: true");
  if (s.slowStartMs !== DEFAULT_SERVER.slowStartMs) params.push(`slow_start: ${formatTime(s.slowStartMs)}`);
  if (params.length === 0) return scalar(s.address);
  return `{ address: ${scalar(s.address)}, ${params.join(", ")} }`;
}

function listenValue(listen: readonly ListenConfig[]): string {
  const items = listen.map((l) => (l.host === null ? String(l.port) : scalar(formatHostPort(l.host, l.port))));
  return items.length === 1 ? items[0]! : `[${items.join(", ")}]`;
}

/** A YAML scalar that reads back as the same string: plain when that is safe, else quoted. */
function scalar(text: string): string {
  const plain =
    /^[A-Za-z_/][A-Za-z0-9_./-]*$/.test(text) && !/^(true|false|yes|no|on|off|y|n|null)$/i.test(text);
  // JSON's string syntax is valid YAML double-quoted syntax.
  return plain ? text : JSON.stringify(text);
}
