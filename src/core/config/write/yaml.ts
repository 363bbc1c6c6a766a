// Config → streamlb's YAML, for `streamlb convert`: what read-yaml/ reads back into the same
// Config. Only what differs from the defaults is written, so the result reads like a config a
// person wrote.
import { yamlTlsLines } from "./tls.ts";
import { yamlLimitConn, yamlLimitConnZones } from "./limit-conn.ts";
import { formatHostPort } from "../values/address.ts";
import { type BalanceMethod, type Config, type ErrorLogConfig, type ListenConfig, type UpstreamServerConfig } from "../model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../schema/proxy.ts";
import { EVENTS_SETTINGS, MAIN_SETTINGS } from "../schema/table.ts";
import { SERVER_PARAM_ROWS } from "../schema/upstream-server.ts";
import { yamlScalar as scalar } from "../values/quote.ts";
import { changedFields, changedRows, declaredUpstreams, rowText, streamLevelSettings } from "./common.ts";
import { yamlHealthCheckValue } from "./health.ts";
import { serverAccessLog, streamLevelAccessLog, yamlAccessLog, yamlAdminLine, yamlLogFormats } from "./observability.ts";
import { yamlResolverLines } from "./resolve.ts";

const TOP_ROWS = MAIN_SETTINGS;
const EVENTS_ROWS = EVENTS_SETTINGS;

export function writeYamlConfig(config: Config, source?: string): string {
  const out: string[] = [`# streamlb config${source ? `, converted from ${source}` : ""}`];
  for (const r of changedRows(TOP_ROWS, config)) out.push(`${r.yaml}: ${rowText(r, config, "yaml")}`);
  const log = config.errorLog;
  if (config.moreErrorLogs?.length) out.push(`error_log: ${yamlErrorLogs([log, ...config.moreErrorLogs])}`);
  else if (log.path !== "stderr" || log.level !== "error") out.push(`error_log: ${yamlErrorLogs([log])}`);
  if (config.admin) out.push(yamlAdminLine(config.admin, scalar));
  const events = changedRows(EVENTS_ROWS, config).map((r) => `${r.yaml}: ${rowText(r, config, "yaml")}`);
  if (events.length > 0) out.push(`events: { ${events.join(", ")} }`);

  const stream: string[] = [];
  const level = streamLevelSettings(config);
  for (const f of changedFields(level, DEFAULT_PROXY_SETTINGS)) stream.push(`  ${f.yaml}: ${rowText(f, level, "yaml")}`);
  stream.push(...yamlResolverLines(config.stream, "  ", scalar));
  stream.push(...yamlLimitConnZones(config, scalar));
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
    stream.push(...yamlResolverLines(u, "      ", scalar));
    // An upstream kept in a state file may have no servers of its own.
    if (u.servers.length > 0) stream.push("      servers:");
    for (const s of u.servers) stream.push(`        - ${serverItem(s)}`);
    if (u.healthCheck) stream.push(`      health_check: ${yamlHealthCheckValue(u.healthCheck)}`);
  }

  if (config.stream.variables.length > 0) stream.push("  variables:");
  for (const v of config.stream.variables) {
    const args = [...(v.source === null ? [] : [v.source]), v.variable].map(scalar).join(", ");
    stream.push(`    - ${v.kind}: [${args}]`);
    stream.push(`      lines: [${v.lines.map((l) => `[${l.args.map(scalar).join(", ")}]`).join(", ")}]`);
  }

  if (config.stream.servers.length > 0) stream.push("  servers:");
  for (const s of config.stream.servers) {
    stream.push(`    - listen: ${listenValue(s.listen)}`);
    if (s.proxyPass !== null) stream.push(`      proxy_pass: ${scalar(s.proxyPass)}`);
    if (s.return !== null) stream.push(`      return: ${scalar(s.return)}`);
    if (s.pass !== undefined) stream.push(`      pass: ${scalar(s.pass)}`);
    if (s.serverNames?.length) stream.push(`      server_name: [${s.serverNames.map(scalar).join(", ")}]`);
    if (s.set.length > 0) {
      stream.push(`      set: { ${s.set.map((v) => `${scalar(v.variable)}: ${scalar(v.value)}`).join(", ")} }`);
    }
    if (s.access.length > 0) {
      stream.push(`      access: [${s.access.map((r) => `{ ${r.action}: ${scalar(r.address)} }`).join(", ")}]`);
    }
    stream.push(...yamlLimitConn(s, "      ", scalar));
    if (s.realipFrom?.length) stream.push(`      set_real_ip_from: [${s.realipFrom.map(scalar).join(", ")}]`);
    if (s.errorLogs?.length) stream.push(`      error_log: ${yamlErrorLogs(s.errorLogs)}`);
    for (const f of changedFields(s.proxy, level)) stream.push(`      ${f.yaml}: ${rowText(f, s.proxy, "yaml")}`);
    const own = serverAccessLog(s, accessLevel);
    if (own) stream.push(...yamlAccessLog(own, "      ", scalar));
    stream.push(...yamlTlsLines(s, "      ", scalar));
  }

  if (stream.length === 0) out.push("stream: {}");
  else out.push("stream:", ...stream);
  return `${out.join("\n")}\n`;
}

function methodLine(m: BalanceMethod): string | null {
  switch (m.kind) {
    case "round_robin":
      return null;
    case "least_conn":
      return "least_conn: true";
    case "hash":
      if (!m.consistent) return `hash: ${scalar(m.key)}`;
      return `hash: { key: ${scalar(m.key)}, consistent: true${m.bounded !== undefined ? `, bounded: ${m.bounded}` : ""} }`;
    case "random":
      if (!m.two) return "random: true";
      return m.leastConn ? "random: { two: true, method: least_conn }" : "random: { two: true }";
  }
}

function serverItem(s: UpstreamServerConfig): string {
  const params = changedRows(SERVER_PARAM_ROWS, s).map((r) => `${r.yaml}: ${rowText(r, s, "yaml")}`);
  if (s.resolve) params.push("resolve: true");
  if (s.service != null) params.push(`service: ${scalar(s.service)}`);
  if (params.length === 0) return scalar(s.address);
  return `{ address: ${scalar(s.address)}, ${params.join(", ")} }`;
}

function listenValue(listen: readonly ListenConfig[]): string {
  const items = listen.map((l) => {
    const address = l.unixPath !== undefined
      ? `unix:${l.unixPath}`
      : l.host === null
      ? String(l.port)
      : formatHostPort(l.host, l.port);
    const params = `${l.udp ? " udp" : ""}${l.reusePort ? " reuseport" : ""}${l.proxyProtocol ? " proxy_protocol" : ""}` +
      `${l.ssl ? " ssl" : ""}${l.defaultServer ? " default_server" : ""}`;
    if (params === "") return l.host === null && l.unixPath === undefined ? address : scalar(address);
    return scalar(`${address}${params}`);
  });
  return items.length === 1 ? items[0]! : `[${items.join(", ")}]`;
}

/** One `{ path, level }`, or a list of them. */
function yamlErrorLogs(logs: readonly ErrorLogConfig[]): string {
  const one = (l: ErrorLogConfig) => `{ path: ${scalar(l.path)}, level: ${l.level} }`;
  return logs.length === 1 ? one(logs[0]!) : `[${logs.map(one).join(", ")}]`;
}
