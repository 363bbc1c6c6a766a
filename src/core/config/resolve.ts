// Whole-config resolution shared by every loader: a reader's draft becomes a Config once
// cross-references (upstream names, log formats) are resolved and what can only be judged with
// everything read is checked.
import { parseHostPort } from "./values/address.ts";
import { ConfigError } from "./errors.ts";
import { BUILTIN_LOG_FORMATS } from "./values/log-format.ts";
import {
  type AdminConfig,
  type Config,
  type ErrorLogConfig,
  type LimitConnZoneConfig,
  listenKey,
  type LogFormatConfig,
  type ResolverConfig,
  type ServerConfig,
  type SourceLoc,
  type UpstreamConfig,
  type VariableBlockConfig,
} from "./model.ts";
import { DEFAULT_WORKER_CONNECTIONS } from "./schema/main.ts";
import { DEFAULT_SERVER } from "./schema/upstream-server.ts";
import { hasVariables } from "../variables/complex-value.ts";
import { compileStreamVariables } from "../variables/stream-variables.ts";

/** What a loader hands over: the model before cross-references are resolved. */
export interface ConfigDraft {
  readonly file: string;
  readonly pid: string | null;
  readonly workerProcesses: number | "auto";
  readonly workerShutdownTimeoutMs: number;
  readonly shutdownGraceMs?: number | null;
  readonly workerConnections?: number;
  readonly errorLog: ErrorLogConfig;
  readonly moreErrorLogs?: readonly ErrorLogConfig[];
  readonly admin?: AdminConfig | null;
  readonly logFormats?: readonly LogFormatConfig[];
  readonly resolver?: ResolverConfig | null;
  readonly resolverTimeoutMs?: number | null;
  readonly variables?: readonly VariableBlockConfig[];
  readonly limitConnZones?: readonly LimitConnZoneConfig[];
  readonly unusedLogFiles?: readonly string[];
  /** A loader that knows no health checks may leave `healthCheck` out: none. */
  readonly upstreams: ReadonlyArray<
    Omit<UpstreamConfig, "healthCheck"> & { readonly healthCheck?: UpstreamConfig["healthCheck"] }
  >;
  /** proxyPassLoc: where the handler (proxy_pass or return) was written. */
  readonly servers: ReadonlyArray<ServerConfig & { readonly proxyPassLoc: SourceLoc }>;
}

export function resolveConfig(draft: ConfigDraft): Config {
  const upstreams = new Map<string, UpstreamConfig>();
  for (const up of draft.upstreams) {
    if (upstreams.has(up.name)) throw new ConfigError(`duplicate upstream "${up.name}"`, up.loc);
    // An upstream with a `state` file may start empty: the admin API fills it.
    if (!up.state && !up.servers.some((s) => !s.backup)) throw new ConfigError(`no servers in upstream "${up.name}"`, up.loc);
    upstreams.set(up.name, { ...up, healthCheck: up.healthCheck ?? null });
  }
  checkResolve(upstreams, draft.resolver ?? null);

  const logFormats = new Map<string, LogFormatConfig>();
  for (const f of draft.logFormats ?? []) {
    if (logFormats.has(f.name)) throw new ConfigError(`duplicate "log_format" name "${f.name}"`, f.loc);
    logFormats.set(f.name, f);
  }

  const listening = new Map<string, SourceLoc>();
  /** Per address: whether a server without server_name, and a default_server, are on it. */
  const unnamed = new Set<string>();
  const defaults = new Set<string>();
  const servers: ServerConfig[] = [];
  for (const { proxyPassLoc, ...server } of draft.servers) {
    if (server.listen.length === 0) throw new ConfigError(`no "listen" is defined for server`, server.loc);
    for (const log of server.accessLog) {
      if (!logFormats.has(log.format) && !BUILTIN_LOG_FORMATS.has(log.format)) {
        throw new ConfigError(`unknown log format "${log.format}"`, log.loc);
      }
    }
    // Fail closed: UDP sessions do not write a PROXY header yet.
    if (server.proxy.proxyProtocol !== "off" && server.listen.some((l) => l.udp)) {
      throw new ConfigError(`"proxy_protocol" is not supported yet on "listen … udp"`, server.loc);
    }
    const own = new Set<string>();
    for (const l of server.listen) {
      const key = listenKey(l);
      // Server blocks share an address when SNI can tell them apart (server_name, nginx 1.25.5);
      // a second one without a name could never be chosen: refused (nginx warns and ignores it).
      const nameless = !server.serverNames?.length;
      if (own.has(key) || (nameless && unnamed.has(key))) {
        throw new ConfigError(`duplicate "${key}" address and port pair`, l.loc);
      }
      if (l.defaultServer && defaults.has(key)) throw new ConfigError(`a duplicate default server for ${key}`, l.loc);
      if (listening.has(key) && l.udp) throw new ConfigError(`duplicate "${key}" address and port pair`, l.loc);
      if (l.defaultServer) defaults.add(key);
      if (nameless) unnamed.add(key);
      own.add(key);
      if (!listening.has(key)) listening.set(key, l.loc);
    }
    const handlers = [server.proxyPass !== null, server.return !== null, server.pass !== undefined].filter(Boolean).length;
    if (handlers !== 1) {
      const second = server.pass !== undefined ? "pass" : "return";
      throw new ConfigError(handlers === 0 ? `no handler for server` : `"${second}" directive is duplicate`, proxyPassLoc);
    }
    // `proxy_pass $var` names its upstream per session; `return` needs none.
    if (server.proxyPass !== null && !hasVariables(server.proxyPass) && !upstreams.has(server.proxyPass)) {
      if (server.proxyPass.toLowerCase().startsWith("unix:")) {
        upstreams.set(server.proxyPass, implicitUnix(server.proxyPass, proxyPassLoc));
        servers.push(server);
        continue;
      }
      const hp = parseHostPort(server.proxyPass);
      if (!hp) {
        throw new ConfigError(
          `proxy_pass "${server.proxyPass}" is neither an upstream name nor host:port`,
          proxyPassLoc,
        );
      }
      // nginx makes an implicit one-server upstream for proxy_pass host:port.
      upstreams.set(server.proxyPass, {
        name: server.proxyPass,
        method: { kind: "round_robin" },
        implicit: true,
        healthCheck: null,
        loc: proxyPassLoc,
        servers: [{ ...DEFAULT_SERVER, address: server.proxyPass, host: hp.host, port: hp.port, loc: proxyPassLoc }],
      });
    }
    servers.push(server);
  }

  // ngx_event_init_conf: a connection for each listening socket, and one more to serve with.
  const workerConnections = draft.workerConnections ?? DEFAULT_WORKER_CONNECTIONS;
  if (workerConnections < listening.size + 1) {
    throw new ConfigError(`${workerConnections} worker_connections are not enough for ${listening.size} listening sockets`, null);
  }

  const limitConnZones = new Map((draft.limitConnZones ?? []).map((z) => [z.name, z]));
  for (const s of servers) {
    for (const l of s.limitConn?.limits ?? []) {
      // nginx finds the zone missing only when it sizes the shared memory: no file:line.
      if (!limitConnZones.has(l.zone)) throw new ConfigError(`zero size shared memory zone "${l.zone}"`, null);
    }
  }

  const variables = draft.variables ?? [];
  // Unknown variables, bad maps and the like: refused at load, in nginx's words.
  compileStreamVariables({ variables, servers, logFormats, upstreams, limitConnZones });

  return {
    file: draft.file,
    pid: draft.pid,
    workerProcesses: draft.workerProcesses,
    workerShutdownTimeoutMs: draft.workerShutdownTimeoutMs,
    shutdownGraceMs: draft.shutdownGraceMs ?? null,
    workerConnections,
    errorLog: draft.errorLog,
    ...(draft.moreErrorLogs?.length && { moreErrorLogs: draft.moreErrorLogs }),
    admin: draft.admin ?? null,
    stream: {
      upstreams,
      servers,
      logFormats,
      variables,
      ...(draft.unusedLogFiles?.length && { unusedLogFiles: draft.unusedLogFiles }),
      ...(draft.resolver && { resolver: draft.resolver }),
      ...(draft.resolverTimeoutMs != null && { resolverTimeoutMs: draft.resolverTimeoutMs }),
      ...(limitConnZones.size > 0 && { limitConnZones }),
    },
  };
}

/** nginx's implicit one-server upstream for `proxy_pass unix:/path`. */
function implicitUnix(address: string, loc: SourceLoc): UpstreamConfig {
  const server = { ...DEFAULT_SERVER, address, host: "", port: 0, unixPath: address.slice(5), loc };
  return { name: address, method: { kind: "round_robin" }, implicit: true, healthCheck: null, loc, servers: [server] };
}

/**
 * What nginx checks once every upstream is read: a `resolve` server lives in a zone and has a
 * resolver (its upstream's or stream{}'s), and every zone has a size somewhere.
 */
function checkResolve(upstreams: ReadonlyMap<string, UpstreamConfig>, streamResolver: ResolverConfig | null): void {
  const sized = new Set<string>();
  for (const u of upstreams.values()) if (u.zone?.size != null) sized.add(u.zone.name);
  for (const u of upstreams.values()) {
    if (u.zone && !sized.has(u.zone.name)) throw new ConfigError(`zero size shared memory zone "${u.zone.name}"`, u.loc);
    if (!u.servers.some((s) => s.resolve)) continue;
    const where = `upstream "${u.name}" in ${u.loc.file}:${u.loc.line}`;
    if (!u.zone) throw new ConfigError(`resolving names at run time requires ${where} to be in shared memory`, null);
    if (!u.resolver && !streamResolver) {
      throw new ConfigError(`no resolver defined to resolve names at run time in ${where}`, null);
    }
  }
}
