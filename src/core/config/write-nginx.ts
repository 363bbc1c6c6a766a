// Config → nginx.conf, for `streamlb convert --to nginx`: what nginx.ts (and nginx itself)
// reads back into the same Config. Only what differs from nginx's defaults is written.
import { formatHostPort } from "./address.ts";
import {
  DEFAULT_PROXY_SETTINGS,
  DEFAULT_SERVER,
  DEFAULT_WORKER_CONNECTIONS,
  type BalanceMethod,
  type Config,
  type ProxySettings,
  type UpstreamConfig,
  type UpstreamServerConfig,
} from "./model.ts";
import { formatTime } from "./units.ts";
import {
  nginxAccessLog,
  nginxAdminLine,
  nginxLogFormats,
  serverAccessLog,
  streamLevelAccessLog,
} from "./write-observability.ts";
import { changedFields, declaredUpstreams, proxyValue, streamLevelSettings, type ProxyField } from "./write-common.ts";
import { nginxHealthChecks } from "./write-health.ts";

const IN = "    ";

export function writeNginxConfig(config: Config, source?: string): string {
  const out: string[] = [`# streamlb config${source ? `, converted from ${source}` : ""}`];
  out.push(`worker_processes ${config.workerProcesses};`);
  if (config.pid !== null) out.push(`pid ${word(config.pid)};`);
  if (config.workerShutdownTimeoutMs !== 0) {
    out.push(`worker_shutdown_timeout ${formatTime(config.workerShutdownTimeoutMs)};`);
  }
  // Always written: nginx's own default error log is a file, streamlb's is stderr.
  out.push(`error_log ${word(config.errorLog.path)} ${config.errorLog.level};`);
  if (config.admin) out.push(nginxAdminLine(config.admin, word));
  out.push("", "events {");
  if (config.workerConnections !== DEFAULT_WORKER_CONNECTIONS) out.push(`${IN}worker_connections ${config.workerConnections};`);
  out.push("}", "", "stream {");

  const level = streamLevelSettings(config);
  const settings = changedFields(level, DEFAULT_PROXY_SETTINGS);
  for (const f of settings) out.push(`${IN}${f.name} ${value(f, level)};`);
  // log_format before any access_log: nginx looks formats up as it reads.
  for (const l of nginxLogFormats(config, word)) out.push(`${IN}${l}`);
  const accessLevel = streamLevelAccessLog(config);
  if (accessLevel.length > 0) for (const l of nginxAccessLog(accessLevel, word)) out.push(`${IN}${l}`);

  const health = nginxHealthChecks(config, word);
  for (const u of declaredUpstreams(config)) {
    const body = [...upstreamBody(u), ...(health.orphans.get(u.name) ?? [])];
    out.push("", `${IN}upstream ${word(u.name)} {`, ...body.map((l) => IN + IN + l), `${IN}}`);
  }
  for (const block of health.matches) out.push("", ...block.map((l) => IN + l));

  for (const s of config.stream.servers) {
    out.push("", `${IN}server {`);
    for (const l of s.listen) out.push(`${IN}${IN}listen ${l.host === null ? l.port : formatHostPort(l.host, l.port)};`);
    out.push(`${IN}${IN}proxy_pass ${word(s.proxyPass)};`);
    // Each server writes its merged rules: the same as nginx's inheritance, read back.
    for (const r of s.access) out.push(`${IN}${IN}${r.action} ${word(r.address)};`);
    for (const f of changedFields(s.proxy, level)) out.push(`${IN}${IN}${f.name} ${value(f, s.proxy)};`);
    const own = serverAccessLog(s, accessLevel);
    if (own) for (const l of nginxAccessLog(own, word)) out.push(`${IN}${IN}${l}`);
    for (const l of health.inServer.get(s) ?? []) out.push(`${IN}${IN}${l}`);
    out.push(`${IN}}`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function upstreamBody(u: UpstreamConfig): string[] {
  const method = methodDirective(u.method);
  const servers = [...(u.state ? [`state ${word(u.state)};`] : []), ...u.servers.map(serverLine)];
  if (!method) return servers;
  // nginx checks `backup` only on servers after hash/random, so an upstream that has both
  // (nginx accepts it when the servers come first) keeps that order to read back the same.
  const backupFirst = u.method.kind !== "least_conn" && u.servers.some((s) => s.backup);
  return backupFirst ? [...servers, method] : [method, ...servers];
}

function methodDirective(m: BalanceMethod): string | null {
  switch (m.kind) {
    case "round_robin":
      return null;
    case "least_conn":
      return "least_conn;";
    case "hash":
      return `hash ${word(m.key)}${m.consistent ? " consistent" : ""};`;
    case "random":
      return `random${m.two ? " two" : ""}${m.leastConn ? " least_conn" : ""};`;
  }
}

/** `server ADDRESS [params];` as an upstream{} or a `state` file holds it. */
export function serverLine(s: UpstreamServerConfig): string {
  const params = [word(s.address)];
  if (s.weight !== DEFAULT_SERVER.weight) params.push(`weight=${s.weight}`);
  if (s.maxFails !== DEFAULT_SERVER.maxFails) params.push(`max_fails=${s.maxFails}`);
  if (s.failTimeoutMs !== DEFAULT_SERVER.failTimeoutMs) params.push(`fail_timeout=${formatTime(s.failTimeoutMs)}`);
  if (s.maxConns !== DEFAULT_SERVER.maxConns) params.push(`max_conns=${s.maxConns}`);
  if (s.backup) params.push("backup");
  if (s.down) params.push("down");
  if (s.drain) params.push("drain");
  if (s.slowStartMs !== DEFAULT_SERVER.slowStartMs) params.push(`slow_start=${formatTime(s.slowStartMs)}`);
  return `server ${params.join(" ")};`;
}

function value(f: ProxyField, settings: ProxySettings): string {
  return proxyValue(f, settings, { on: "on", off: "off" });
}

/** One nginx word: as is when the tokenizer reads it back unchanged, else double-quoted. */
function word(text: string): string {
  if (text !== "" && !/[\s;{}"'\\]/.test(text) && !text.startsWith("#")) return text;
  const escaped = text
    .replace(/[\\"]/g, "\\$&")
    .replace(/\t/g, "\\t")
    .replace(/\r/g, "\\r")
    .replace(/\n/g, "\\n");
  return `"${escaped}"`;
}
