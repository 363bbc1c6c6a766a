// The native config spelling: YAML whose keys are nginx's directive names.
import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { boundFactorError, parseBoundFactor } from "../../balance/bounded-load.ts";
import { hashKeyError } from "../../balance/key.ts";
import { parseHostPort, parseListen } from "../values/address.ts";
import { ConfigError } from "../errors.ts";
import {
  type AccessLogConfig,
  type AccessRuleConfig,
  type BalanceMethod,
  type Config,
  type ErrorLogConfig,
  type ListenConfig,
  type LogFormatConfig,
  type ProxySettings,
  type ServerConfig,
  type SourceLoc,
  type UpstreamConfig,
  type UpstreamServerConfig,
} from "../model.ts";
import { DEFAULT_PROXY_SETTINGS } from "../schema/proxy.ts";
import { DEFAULT_SERVER } from "../schema/upstream-server.ts";
import { DEFAULT_MAIN_SETTINGS } from "../schema/main.ts";
import { EVENTS_SETTINGS, MAIN_SETTINGS, PROXY_SETTINGS } from "../schema/table.ts";
import { refusedParam, SERVER_PARAM_ROWS } from "../schema/upstream-server.ts";
import { resolveConfig } from "../resolve.ts";
import { yamlRows } from "./rows.ts";
import {
  LIMIT_CONN_KEYS,
  mergeYamlLimitConn,
  type YamlLimitConn,
  yamlLimitConn,
  yamlLimitConnZones,
  yamlProxyBind,
} from "./limit-conn.ts";

const LISTEN_PARAMS = ["udp", "reuseport", "proxy_protocol", "ssl", "default_server"];
/** A server's content handler: exactly one of them. */
const HANDLER_KEYS = ["proxy_pass", "return", "pass"] as const;
const bindOf = (bind: string | null) => (bind === null || bind === "off" ? {} : { proxyBind: bind });
import { yamlAccess, yamlRealipFrom } from "./access.ts";
import { yamlErrorLogs } from "./error-log.ts";
import { yamlHealthCheck } from "./health.ts";
import { yamlAccessLog, yamlAdmin, yamlLogFormats } from "./observability.ts";
import { type Entries, YamlWalker } from "./walker.ts";
import { yamlSet, yamlVariableBlocks } from "./variables.ts";
import { RESOLVER_KEYS, yamlResolver, yamlResolveServer, yamlZone } from "./resolve.ts";
import { TLS_KEYS, yamlServerNames, yamlServerTls, yamlTlsOverrides } from "./tls.ts";
import type { TlsOverrides } from "../read-nginx/ssl.ts";
import { passDirectiveProblem } from "../../pass-address.ts";
import { hasVariables } from "../../variables/complex-value.ts";

const PROXY_KEYS = PROXY_SETTINGS.map((r) => r.yaml);
const TOP_ROWS = MAIN_SETTINGS;
const EVENTS_ROWS = EVENTS_SETTINGS;

const TOP_KEYS = [...TOP_ROWS.map((r) => r.yaml), "error_log", "admin", "events", "stream"];
const EVENTS_KEYS = EVENTS_ROWS.map((r) => r.yaml);
const STREAM_KEYS = [
  ...PROXY_KEYS,
  "upstreams",
  "servers",
  "log_formats",
  "access_log",
  "access",
  "variables",
  "set_real_ip_from",
  "error_log",
  ...RESOLVER_KEYS,
  "limit_conn_zone",
  "proxy_bind",
  ...LIMIT_CONN_KEYS,
  ...TLS_KEYS,
];
const SERVER_KEYS = [
  ...PROXY_KEYS,
  "listen",
  "proxy_pass",
  "return",
  "pass",
  "set",
  "access_log",
  "access",
  "set_real_ip_from",
  "error_log",
  "proxy_bind",
  ...LIMIT_CONN_KEYS,
  ...TLS_KEYS,
  "server_name",
];
const UPSTREAM_KEYS = ["servers", "least_conn", "hash", "random", "health_check", "state", "zone", ...RESOLVER_KEYS];
const UPSTREAM_SERVER_KEYS = ["address", ...SERVER_PARAM_ROWS.map((r) => r.yaml), "resolve", "service"];

/** `defaultErrorLog` (`-e`) is the error log when the config names none. */
export function loadYamlConfig(text: string, file: string, defaultErrorLog?: ErrorLogConfig): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    const problem = first.message.split("\n")[0]!;
    throw new ConfigError(`YAML syntax error: ${problem}`, { file, line: pos.line, col: pos.col });
  }
  const w = new YamlWalker(file, lines);
  const root = doc.contents as Node | null;
  if (root === null) throw new ConfigError("the config is empty: it needs a stream section", { file, line: 1, col: 1 });
  const top = w.entries(root, "the config", TOP_KEYS);

  const streamNode = top.get("stream")?.value ?? null;
  if (!streamNode) w.fail(root, `the config needs a "stream" section`);
  const stream = w.entries(streamNode, "stream", STREAM_KEYS);
  const inherited = yamlRows(w, stream, PROXY_SETTINGS, DEFAULT_PROXY_SETTINGS);
  const logFormats = stream.has("log_formats") ? yamlLogFormats(w, stream.get("log_formats")!.value) : [];
  const accessLog = stream.has("access_log") ? yamlAccessLog(w, stream.get("access_log")!.value, "stream", logFormats) : [];
  const access = stream.has("access") ? yamlAccess(w, stream.get("access")!.value, "stream") : [];
  const limitConn = { ...yamlLimitConn(w, stream), bind: yamlProxyBind(w, stream) };
  const realipFrom = stream.has("set_real_ip_from") ? yamlRealipFrom(w, stream.get("set_real_ip_from")!.value) : [];
  const tls = yamlTlsOverrides(w, stream);
  const errorLogs = stream.has("error_log") ? yamlErrorLogs(w, stream.get("error_log")!.value) : [];

  const upstreams: UpstreamConfig[] = [];
  const upstreamsNode = stream.get("upstreams")?.value ?? null;
  if (upstreamsNode) {
    for (const { name, key, value } of w.namedEntries(upstreamsNode, "stream.upstreams")) {
      upstreams.push(upstream(w, name, w.loc(key), value));
    }
  }

  const serversNode = stream.get("servers")?.value ?? null;
  const servers = serversNode
    ? w.list(serversNode, "stream.servers").map((node, i) =>
      server(w, node, i, inherited, accessLog, { access, realipFrom, errorLogs }, logFormats, limitConn, tls)
    )
    : [];

  const [mainLog, ...moreErrorLogs] = top.has("error_log") ? yamlErrorLogs(w, top.get("error_log")!.value) : [];
  const eventsNode = top.get("events")?.value ?? null;
  const events = eventsNode ? w.entries(eventsNode, "events", EVENTS_KEYS) : new Map();
  const settings = yamlRows(w, events, EVENTS_ROWS, yamlRows(w, top, TOP_ROWS, DEFAULT_MAIN_SETTINGS));
  return resolveConfig({
    ...settings,
    file,
    errorLog: mainLog ?? defaultErrorLog ?? { path: "stderr", level: "error" },
    ...(moreErrorLogs.length > 0 && { moreErrorLogs }),
    admin: top.has("admin") ? yamlAdmin(w, top.get("admin")!.value) : null,
    logFormats,
    ...yamlResolver(w, stream, "stream"),
    variables: stream.has("variables") ? yamlVariableBlocks(w, stream.get("variables")!.value) : [],
    limitConnZones: stream.has("limit_conn_zone") ? yamlLimitConnZones(w, stream.get("limit_conn_zone")!.value) : [],
    upstreams,
    servers,
  });
}

function server(
  w: YamlWalker,
  node: Node,
  index: number,
  inherited: ProxySettings,
  inheritedAccessLog: AccessLogConfig[],
  inheritedRules: { readonly access: AccessRuleConfig[]; readonly realipFrom: string[]; readonly errorLogs: ErrorLogConfig[] },
  logFormats: LogFormatConfig[],
  inheritedLimitConn: YamlLimitConn & { bind: string | null },
  inheritedTls: TlsOverrides,
): ServerConfig & { proxyPassLoc: SourceLoc } {
  const what = `stream.servers[${index}]`;
  const e = w.entries(node, what, SERVER_KEYS);
  if (!e.has("listen")) w.fail(node, `no "listen" is defined for ${what}`);
  const handlers = HANDLER_KEYS.filter((k) => e.has(k));
  if (handlers.length === 0) w.fail(node, `no "proxy_pass", "return" or "pass" is defined for ${what}`);
  if (handlers.length > 1) {
    w.fail(e.get(handlers[1]!)!.key, `${what} has both "${handlers[0]}" and "${handlers[1]}": one handles the session`);
  }
  const listen: ListenConfig[] = w.listOrOne(e.get("listen")!.value).map((n) => {
    // nginx's spelling: the address, then `udp` and `reuseport` (`"127.0.0.1:53 udp"`).
    const [text = "", ...params] = String(w.scalar(n, "listen")).trim().split(/\s+/);
    const unix = text.toLowerCase().startsWith("unix:") && text.length > 5 && !params.includes("udp");
    const parsed = unix ? { host: null, port: 0, unixPath: text.slice(5) } : parseListen(text);
    if (!parsed) w.fail(n, `invalid listen "${text}": expected a port, host:port or [v6]:port`);
    for (const p of params) {
      if (!LISTEN_PARAMS.includes(p)) {
        w.fail(n, `invalid listen parameter "${p}": expected ${LISTEN_PARAMS.map((x) => `"${x}"`).join(", ")}`);
      }
    }
    for (const p of ["proxy_protocol", "ssl"]) {
      if (params.includes("udp") && params.includes(p)) {
        w.fail(n, `"listen" directive "${p}" parameter is incompatible with "udp"`);
      }
    }
    if (params.includes("reuseport") && !params.includes("udp")) {
      w.fail(n, `"reuseport" in listen is for "udp" listeners (TCP workers always use SO_REUSEPORT)`);
    }
    const udp = params.includes("udp") ? { udp: true, ...(params.includes("reuseport") ? { reusePort: true } : {}) } : {};
    const pp = params.includes("proxy_protocol") ? { proxyProtocol: true } : {};
    const ssl = params.includes("ssl") ? { ssl: true } : {};
    const def = params.includes("default_server") ? { defaultServer: true } : {};
    return { ...parsed, ...udp, ...pp, ...ssl, ...def, loc: w.loc(n) };
  });
  const handlerNode = e.get(handlers[0]!)!.value;
  return {
    listen,
    proxyPass: e.has("proxy_pass") ? w.string(handlerNode, "proxy_pass") : null,
    return: e.has("return") ? String(w.scalar(handlerNode, "return")) : null,
    ...(e.has("pass") && { pass: yamlPass(w, handlerNode) }),
    set: e.has("set") ? yamlSet(w, e.get("set")!.value, what) : [],
    proxyPassLoc: w.loc(handlerNode),
    proxy: yamlRows(w, e, PROXY_SETTINGS, inherited),
    accessLog: e.has("access_log") ? yamlAccessLog(w, e.get("access_log")!.value, what, logFormats) : inheritedAccessLog,
    // As nginx merges allow/deny: a server with rules of its own does not inherit stream's.
    ...mergeYamlLimitConn(yamlLimitConn(w, e), inheritedLimitConn),
    ...bindOf(yamlProxyBind(w, e) ?? inheritedLimitConn.bind),
    access: e.has("access") ? yamlAccess(w, e.get("access")!.value, what) : inheritedRules.access,
    ...realipFromOf(e.has("set_real_ip_from") ? yamlRealipFrom(w, e.get("set_real_ip_from")!.value) : inheritedRules.realipFrom),
    ...errorLogsOf(e.has("error_log") ? yamlErrorLogs(w, e.get("error_log")!.value) : inheritedRules.errorLogs),
    ...yamlServerTls(inheritedTls, yamlTlsOverrides(w, e), listen, w.loc(node)),
    ...(e.has("server_name") && { serverNames: yamlServerNames(w, e.get("server_name")!.value) }),
    loc: w.loc(node),
  };
}

/** `pass: ADDRESS`: an address as written is judged at load, as nginx judges it. */
function yamlPass(w: YamlWalker, node: Node | null): string {
  const value = w.string(node, "pass");
  const problem = hasVariables(value) ? null : passDirectiveProblem(value);
  if (problem) w.fail(node, problem);
  return value;
}

function upstream(w: YamlWalker, name: string, loc: SourceLoc, node: Node | null): UpstreamConfig {
  const what = `upstream "${name}"`;
  const e = w.entries(node, what, UPSTREAM_KEYS);
  const methods = (["least_conn", "hash", "random"] as const).filter((k) => e.has(k));
  if (methods.length > 1) w.fail(e.get(methods[1]!)!.key, `${what} names more than one balancing method`);
  const method = balanceMethod(w, e);
  // With a state file, the servers may come from it alone.
  const state = e.has("state") ? w.string(e.get("state")!.value, "state") : null;
  if (!e.has("servers") && state === null) w.fail(node, `no servers in ${what}`);
  const servers = e.has("servers")
    ? w.list(e.get("servers")!.value, `${what} servers`).map((n) => upstreamServer(w, n, what))
    : [];
  for (const r of SERVER_PARAM_ROWS) {
    const refused = servers.find((s) => refusedParam(r, method.kind, s[r.field]));
    if (refused) throw new ConfigError(`balancing method does not support parameter "${r.name}"`, refused.loc);
  }
  const check = e.get("health_check");
  const healthCheck = check ? yamlHealthCheck(w, check.value, what) : null;
  const zone = e.has("zone") ? { zone: yamlZone(w, e.get("zone")!.value) } : {};
  const own = { ...zone, ...yamlResolver(w, e, what) };
  return { name, method, servers, implicit: false, healthCheck, ...(state !== null && { state }), ...own, loc };
}

function balanceMethod(w: YamlWalker, e: Entries): BalanceMethod {
  const leastConn = e.get("least_conn");
  if (leastConn && w.flag(leastConn.value, "least_conn")) return { kind: "least_conn" };
  const hash = e.get("hash");
  if (hash) {
    // `hash: $remote_addr` or `hash: { key: $remote_addr, consistent: true }`
    if (isScalar(hash.value)) return { kind: "hash", key: hashKey(w, hash.value), consistent: false };
    const h = w.entries(hash.value, "hash", ["key", "consistent", "bounded"]);
    if (!h.has("key")) w.fail(hash.value, `hash needs a key, such as $remote_addr`);
    const consistent = h.has("consistent") ? w.flag(h.get("consistent")!.value, "hash consistent") : false;
    const method = { kind: "hash", key: hashKey(w, h.get("key")!.value), consistent } as const;
    const b = h.get("bounded");
    if (!b) return method;
    if (!consistent) w.fail(b.key, `hash bounded needs consistent: true`);
    const text = String(w.scalar(b.value, "hash bounded"));
    const bounded = parseBoundFactor(text);
    if (bounded === null) w.fail(b.value, boundFactorError(text));
    return { ...method, bounded };
  }
  const random = e.get("random");
  if (random) {
    // `random: true` or `random: { two: true, method: least_conn }`
    if (!isMap(random.value)) {
      return w.flag(random.value, "random") ? { kind: "random", two: false, leastConn: false } : { kind: "round_robin" };
    }
    const r = w.entries(random.value, "random", ["two", "method"]);
    const two = r.has("two") ? w.flag(r.get("two")!.value, "random two") : false;
    let leastConn = false;
    if (r.has("method")) {
      const m = w.string(r.get("method")!.value, "random method");
      if (m !== "least_conn") w.fail(r.get("method")!.value, `invalid random method "${m}": only least_conn is known`);
      if (!two) w.fail(r.get("method")!.value, `random method needs two: true`);
      leastConn = true;
    }
    return { kind: "random", two, leastConn };
  }
  return { kind: "round_robin" };
}

/** A key that compiles (known variables, closed brackets), so a typo fails the load with its place. */
function hashKey(w: YamlWalker, node: Node | null): string {
  const key = w.string(node, "hash key");
  const problem = hashKeyError(key);
  if (problem) w.fail(node, problem);
  return key;
}

function upstreamServer(w: YamlWalker, node: Node, what: string): UpstreamServerConfig {
  // A bare string is an address with every parameter at nginx's default.
  const e: Entries = isScalar(node)
    ? new Map([["address", { key: node, value: node }]])
    : w.entries(node, `a server of ${what}`, UPSTREAM_SERVER_KEYS);
  const addressNode = e.get("address")?.value ?? null;
  if (!addressNode) w.fail(node, `a server of ${what} needs an address`);
  const address = w.string(addressNode, "server address");
  const dynamic = yamlResolveServer(w, e, addressNode, address);
  if (dynamic) return { ...yamlRows(w, e, SERVER_PARAM_ROWS, { ...DEFAULT_SERVER, address, ...dynamic, loc: w.loc(node) }) };
  if (address.toLowerCase().startsWith("unix:") && address.length > 5) {
    const at = { ...DEFAULT_SERVER, address, host: "", port: 0, unixPath: address.slice(5), loc: w.loc(node) };
    return { ...yamlRows(w, e, SERVER_PARAM_ROWS, at) };
  }
  const hp = parseHostPort(address);
  if (!hp) w.fail(addressNode, `invalid server address "${address}": expected host:port or [v6]:port`);
  return {
    ...yamlRows(w, e, SERVER_PARAM_ROWS, { ...DEFAULT_SERVER, address, host: hp.host, port: hp.port, loc: w.loc(node) }),
    loc: w.loc(node),
  };
}

/** Only where set, so a server without set_real_ip_from reads as it always has. */
function realipFromOf(from: string[]): { realipFrom?: string[] } {
  return from.length > 0 ? { realipFrom: from } : {};
}

/** Only where set: a server without error_log logs to the main error logs. */
function errorLogsOf(logs: ErrorLogConfig[]): { errorLogs?: ErrorLogConfig[] } {
  return logs.length > 0 ? { errorLogs: logs } : {};
}
