// Config → nginx.conf, for `streamlb convert --to nginx`: what read-nginx/ (and nginx itself)
// reads back into the same Config. Only what differs from nginx's defaults is written.
import { nginxTlsLines } from "./tls.ts";
import { nginxLimitConn, nginxLimitConnZones } from "./limit-conn.ts";
import { formatHostPort } from "../values/address.ts";
import { type BalanceMethod, type Config, type UpstreamConfig, type UpstreamServerConfig } from "../model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../schema/proxy.ts";
import { EVENTS_SETTINGS, MAIN_SETTINGS } from "../schema/table.ts";
import { kindOf } from "../schema/row.ts";
import { SERVER_PARAM_ROWS } from "../schema/upstream-server.ts";
import { nginxWord as word } from "../values/quote.ts";
import { nginxAccessLog, nginxAdminLine, nginxLogFormats, serverAccessLog, streamLevelAccessLog } from "./observability.ts";
import { changedFields, changedRows, declaredUpstreams, rowText, streamLevelSettings } from "./common.ts";
import { nginxHealthChecks } from "./health.ts";
import { nginxResolverLines } from "./resolve.ts";

const IN = "    ";

export function writeNginxConfig(config: Config, source?: string): string {
  const out: string[] = [`# streamlb config${source ? `, converted from ${source}` : ""}`];
  const top = MAIN_SETTINGS;
  for (const r of [...top.filter((r) => r.alwaysInNginx), ...changedRows(top.filter((r) => !r.alwaysInNginx), config)]) {
    out.push(`${r.name} ${rowText(r, config, "nginx")};`);
  }
  // Always written: nginx's own default error log is a file, streamlb's is stderr.
  out.push(`error_log ${word(config.errorLog.path)} ${config.errorLog.level};`);
  for (const l of config.moreErrorLogs ?? []) out.push(`error_log ${word(l.path)} ${l.level};`);
  if (config.admin) out.push(nginxAdminLine(config.admin, word));
  out.push("", "events {");
  for (const r of changedRows(EVENTS_SETTINGS, config)) {
    out.push(`${IN}${r.name} ${rowText(r, config, "nginx")};`);
  }
  out.push("}", "", "stream {");

  const level = streamLevelSettings(config);
  const settings = changedFields(level, DEFAULT_PROXY_SETTINGS);
  for (const f of settings) out.push(`${IN}${f.name} ${rowText(f, level, "nginx")};`);
  for (const l of nginxResolverLines(config.stream, word)) out.push(`${IN}${l}`);
  for (const l of nginxLimitConnZones(config, word)) out.push(`${IN}${l}`);
  // log_format before any access_log: nginx looks formats up as it reads.
  for (const l of nginxLogFormats(config, word)) out.push(`${IN}${l}`);
  const accessLevel = streamLevelAccessLog(config);
  if (accessLevel.length > 0) { for (const l of nginxAccessLog(accessLevel, word)) out.push(`${IN}${l}`); }

  const health = nginxHealthChecks(config, word);
  for (const u of declaredUpstreams(config)) {
    const body = [...upstreamBody(u), ...(health.orphans.get(u.name) ?? [])];
    out.push("", `${IN}upstream ${word(u.name)} {`, ...body.map((l) => IN + IN + l), `${IN}}`);
  }
  for (const block of health.matches) out.push("", ...block.map((l) => IN + l));
  for (const v of config.stream.variables) {
    const args = [...(v.source === null ? [] : [v.source]), v.variable].map(word).join(" ");
    out.push("", `${IN}${v.kind} ${args} {`, ...v.lines.map((l) => `${IN}${IN}${l.args.map(word).join(" ")};`), `${IN}}`);
  }

  for (const s of config.stream.servers) {
    out.push("", `${IN}server {`);
    for (const l of s.listen) {
      const params = `${l.udp ? " udp" : ""}${l.reusePort ? " reuseport" : ""}${l.proxyProtocol ? " proxy_protocol" : ""}` +
        `${l.ssl ? " ssl" : ""}${l.defaultServer ? " default_server" : ""}`;
      const address = l.unixPath !== undefined
        ? word(`unix:${l.unixPath}`)
        : l.host === null
        ? l.port
        : formatHostPort(l.host, l.port);
      out.push(`${IN}${IN}listen ${address}${params};`);
    }
    if (s.serverNames?.length) out.push(`${IN}${IN}server_name ${s.serverNames.map(word).join(" ")};`);
    for (const v of s.set) out.push(`${IN}${IN}set ${word(v.variable)} ${word(v.value)};`);
    if (s.proxyPass !== null) out.push(`${IN}${IN}proxy_pass ${word(s.proxyPass)};`);
    if (s.return !== null) out.push(`${IN}${IN}return ${word(s.return)};`);
    if (s.pass !== undefined) out.push(`${IN}${IN}pass ${word(s.pass)};`);
    // Each server writes its merged rules: the same as nginx's inheritance, read back.
    for (const r of s.access) out.push(`${IN}${IN}${r.action} ${word(r.address)};`);
    for (const l of nginxLimitConn(s, word)) out.push(`${IN}${IN}${l}`);
    for (const a of s.realipFrom ?? []) out.push(`${IN}${IN}set_real_ip_from ${word(a)};`);
    for (const l of s.errorLogs ?? []) out.push(`${IN}${IN}error_log ${word(l.path)} ${l.level};`);
    for (const f of changedFields(s.proxy, level)) out.push(`${IN}${IN}${f.name} ${rowText(f, s.proxy, "nginx")};`);
    const own = serverAccessLog(s, accessLevel);
    if (own) { for (const l of nginxAccessLog(own, word)) out.push(`${IN}${IN}${l}`); }
    for (const l of nginxTlsLines(s, word)) out.push(`${IN}${IN}${l}`);
    for (const l of health.inServer.get(s) ?? []) out.push(`${IN}${IN}${l}`);
    out.push(`${IN}}`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function upstreamBody(u: UpstreamConfig): string[] {
  const method = methodDirective(u.method);
  const servers = [...(u.state ? [`state ${word(u.state)};`] : []), ...nginxResolverLines(u, word), ...u.servers.map(serverLine)];
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
      return `hash ${word(m.key)}${m.consistent ? " consistent" : ""}${m.bounded !== undefined ? ` bounded=${m.bounded}` : ""};`;
    case "random":
      return `random${m.two ? " two" : ""}${m.leastConn ? " least_conn" : ""};`;
  }
}

/** `server ADDRESS [params];` as an upstream{} or a `state` file holds it. */
export function serverLine(s: UpstreamServerConfig): string {
  const params = [word(s.address)];
  for (const r of changedRows(SERVER_PARAM_ROWS, s)) {
    // A flag parameter is its bare name; the others are name=value.
    params.push(kindOf(r).flag ? r.name : `${r.name}=${rowText(r, s, "nginx")}`);
  }
  if (s.resolve) params.push("resolve");
  if (s.service != null) params.push(word(`service=${s.service}`));
  return `server ${params.join(" ")};`;
}
