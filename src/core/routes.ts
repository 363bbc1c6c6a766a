// From a config to the Route each listener's sessions follow: the server's phases, its
// content handler (an upstream, `proxy_pass $var`, or `return`), its access log, and the
// config's variables. Compiled once per apply; sessions only read them.
import type { PreparedAccessLogs } from "./access-log.ts";
import type { PreparedErrorLogs } from "./server-error-logs.ts";
import { createPicker } from "./balance/index.ts";
import { formatHostPort, parseHostPort } from "./config/values/address.ts";
import { type Config, type ListenConfig, listenKey, type ServerConfig, type UpstreamConfig } from "./config/model.ts";
import { ServerNames } from "./server-names.ts";
import type { NameCache } from "./dns/cache.ts";
import { dnsErrorText } from "./dns/resolver.ts";
import { DEFAULT_SERVER } from "./config/schema/upstream-server.ts";
import { buildPhases, type LimitConnWorld } from "./phases/pipeline.ts";
import { LocalCounters, type SharedCounters } from "./shared-counters.ts";
import type { Route, Target } from "./session.ts";
import { Upstream } from "./upstream.ts";
import { parseIPv4, parseIPv6 } from "./variables/ip.ts";
import type { StreamVariables } from "./variables/stream-variables.ts";
import { parsePassAddress, type PassAddress } from "./pass-address.ts";
import { PassListeners } from "./pass-listeners.ts";

/** Addresses `proxy_pass $var` reached, kept so their peers keep passive-health state. */
const MAX_DIRECT_TARGETS = 1024;

export function buildRoutes(
  config: Config,
  upstreams: ReadonlyMap<string, Upstream>,
  variables: StreamVariables,
  logs: Pick<PreparedAccessLogs, "forServer"> & Partial<Pick<PreparedErrorLogs, "errorLogFor">>,
  /** stream{}'s resolver, for host names `proxy_pass $var` gives; null when none is configured. */
  names: NameCache | null = null,
  /** limit_conn's counts (shared by every worker process). */
  counters: SharedCounters = new LocalCounters(),
): Map<string, Route> {
  const registry = variables.registry;
  // One picker per upstream and config: a hash picker's key buffer is per picker.
  const targets = new Map<string, Target>();
  const byLowerName = new Map<string, Target>();
  for (const [name, upstream] of upstreams) {
    const cfg = config.stream.upstreams.get(name)!;
    const target = { upstream, picker: createPicker(cfg.method, registry, cfg.servers.some((s) => s.resolve)) };
    targets.set(name, target);
    byLowerName.set(name.toLowerCase(), target);
  }
  const direct = new Map<string, Target>();
  // ngx_stream_proxy_handler with upstream_value: an upstream{} by name (no port), else an
  // address literal; a host name would need `resolver`.
  const resolve = (name: string): Target | string | Promise<Target | string> => {
    const known = byLowerName.get(name.toLowerCase());
    if (known) return known;
    const hp = parseHostPort(name);
    if (!hp) return /:\d+$/.test(name) ? `invalid port in upstream "${name}"` : `no port in upstream "${name}"`;
    if (parseIPv4(hp.host) === null && parseIPv6(hp.host) === null) {
      if (!names) return `no resolver defined to resolve ${hp.host}`;
      return names.lookup(hp.host).then((r) =>
        r.kind === "ok"
          // One peer an address, tries as many (nginx's per-session upstream of a resolved name).
          ? {
            upstream: new Upstream(resolvedUpstream(hp.host, hp.port, r.addresses)),
            picker: createPicker({ kind: "round_robin" }),
          }
          : `${hp.host} could not be resolved (${r.code}: ${dnsErrorText(r.code)})`
      );
    }
    const key = formatHostPort(hp.host, hp.port);
    let t = direct.get(key);
    if (!t) {
      if (direct.size >= MAX_DIRECT_TARGETS) direct.clear();
      t = { upstream: new Upstream(directUpstream(key, hp.host, hp.port)), picker: createPicker({ kind: "round_robin" }) };
      direct.set(key, t);
    }
    return t;
  };

  const zones = config.stream.limitConnZones ?? new Map();
  const limits: LimitConnWorld = {
    keys: variables.limitConnKeys,
    zoneKeys: new Map([...zones.values()].map((z) => [z.name, z.key])),
    counters,
  };
  const routes = new Map<string, Route>();
  const groups = listenGroups(config.stream.servers);
  const passListeners = new PassListeners([...groups.values()].map((g) => g.listen));
  for (const server of config.stream.servers) {
    const vars = variables.forServer(server);
    const route: Omit<Route, "listenName" | "phases"> = {
      server,
      target: server.proxyPass !== null && vars.proxyTarget === null ? targets.get(server.proxyPass)! : null,
      accessLog: logs.forServer(server),
      errorLog: logs.errorLogFor?.(server) ?? null,
      registry,
      ...(vars.returnValue && { returnValue: vars.returnValue }),
      ...(vars.rates && { rates: vars.rates }),
      ...(vars.bind && { bind: vars.bind }),
      ...(vars.proxyTarget && { proxyTarget: { value: vars.proxyTarget, resolve } }),
      ...(vars.proxySslName && { proxySslName: vars.proxySslName }),
      ...(vars.certificates && { certificates: vars.certificates }),
      ...(vars.proxySslAlpn && { proxySslAlpn: vars.proxySslAlpn }),
      ...(server.pass !== undefined && {
        pass: {
          address: vars.passTarget ? null : parsePassAddress(server.pass) as PassAddress,
          value: vars.passTarget ?? null,
          listeners: passListeners,
        },
      }),
    };
    for (const own of server.listen) {
      const group = groups.get(listenKey(own))!;
      // Phases per listen: `proxy_protocol` and `udp` are the address's, not the server's.
      const l = group.listen;
      const phases = buildPhases(server, vars, l, limits);
      const listenName = l.unixPath !== undefined ? `unix:${l.unixPath}` : formatHostPort(l.host ?? "0.0.0.0", l.port);
      group.routes.set(server, { ...route, listenName, ...(phases.length > 0 && { phases }) });
    }
  }
  // A server_name regex's named groups are the config's variables (defined when it was checked).
  const captureIndex = (name: string) => registry.index(name);
  // A passed connection may reach a server with TLS (either side): the socket it came in on must
  // be one that can take it, and so must be each of its upstream sockets.
  const withTls = config.stream.servers.some((s) => s.tls !== undefined || s.listen.some((l) => l.ssl));
  for (const [key, group] of groups) {
    if (withTls && group.servers.some((s) => s.pass !== undefined)) {
      for (const [server, route] of group.routes) group.routes.set(server, { ...route, upgradeable: true });
    }
    routes.set(key, withVirtualRoutes(group, captureIndex));
  }
  return routes;
}

interface ListenGroup {
  /** The address as its servers together ask for it (ssl or proxy_protocol on any of them). */
  listen: ListenConfig;
  readonly servers: ServerConfig[];
  readonly routes: Map<ServerConfig, Route>;
}

/** The servers sharing each address, the default one first (`default_server`, else the first). */
function listenGroups(servers: readonly ServerConfig[]): Map<string, ListenGroup> {
  const groups = new Map<string, ListenGroup>();
  for (const server of servers) {
    for (const l of server.listen) {
      const g = groups.get(listenKey(l));
      if (!g) {
        groups.set(listenKey(l), { listen: l, servers: [server], routes: new Map() });
        continue;
      }
      if (l.defaultServer) g.servers.unshift(server);
      else g.servers.push(server);
      const ssl = g.listen.ssl || l.ssl;
      const proxyProtocol = g.listen.proxyProtocol || l.proxyProtocol;
      g.listen = { ...(l.defaultServer ? l : g.listen), ...(ssl && { ssl }), ...(proxyProtocol && { proxyProtocol }) };
    }
  }
  return groups;
}

/** The default server's route, with the others of its address by name. */
function withVirtualRoutes(group: ListenGroup, captureIndex: (name: string) => number): Route {
  const [first, ...others] = group.servers.map((s) => group.routes.get(s)!);
  if (others.length === 0) return first!;
  const names = new ServerNames<number>(captureIndex);
  for (const n of first!.server.serverNames ?? []) names.add(n, -1);
  others.forEach((r, i) => {
    for (const n of r.server.serverNames ?? []) names.add(n, i);
  });
  return { ...first!, virtual: { names, routes: others } };
}

function resolvedUpstream(host: string, port: number, addresses: readonly string[]): UpstreamConfig {
  const loc = { file: "proxy_pass", line: 0, col: 0 };
  const servers = addresses.map((a) => ({ ...DEFAULT_SERVER, address: formatHostPort(a, port), host: a, port, loc }));
  return { name: host, method: { kind: "round_robin" }, servers, implicit: true, healthCheck: null, loc };
}

function directUpstream(name: string, host: string, port: number): UpstreamConfig {
  const loc = { file: "proxy_pass", line: 0, col: 0 };
  return {
    name,
    method: { kind: "round_robin" },
    servers: [{ ...DEFAULT_SERVER, address: name, host, port, loc }],
    implicit: true,
    healthCheck: null,
    loc,
  };
}
