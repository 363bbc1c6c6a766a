// An upstream{} block (stream{} or tcp{}): its servers, balancing method, zone, resolver,
// state file and tcp{} checks, with nginx's checks and messages.
import { ConfigError } from "../errors.ts";
import type { BalanceMethod, UpstreamConfig, UpstreamServerConfig } from "../model.ts";
import type { Context, DirectiveSpec } from "../schema/directive.ts";
import type { ReaderContext } from "./context.ts";
import type { Family } from "./drafts.ts";
import type { NginxHealthChecks } from "./health.ts";
import { resolverSetting, type ResolverSettings, zoneDirective } from "./resolve.ts";
import { balanceMethod } from "./server-directives.ts";
import type { NginxDirective, NginxNode } from "./tokenizer.ts";
import { streamUpstreamServer, tcpUpstreamServer } from "./upstream-server.ts";

/** What an upstream{} block needs from the reader that walks the file. */
export interface BlockHost {
  readonly cx: ReaderContext;
  readonly health: NginxHealthChecks;
  walk(nodes: readonly NginxNode[], ctx: Context, handle: (d: NginxDirective, spec: DirectiveSpec) => void): void;
  ignore(d: NginxDirective, spec: DirectiveSpec): void;
}

export function upstreamBlock(
  host: BlockHost,
  d: NginxDirective,
  family: Family,
  upstreamNames: Map<string, string>,
): UpstreamConfig {
  const name = d.args[0]!;
  if (upstreamNames.has(name.toLowerCase())) host.cx.fail(d, `duplicate upstream "${name}"`);
  upstreamNames.set(name.toLowerCase(), name);
  let method: BalanceMethod = { kind: "round_robin" };
  let methodSet = false;
  // The method directive decides which server parameters are allowed, for the servers
  // that come after it (nginx sets the upstream's flags when it reads the method).
  let methodKind: BalanceMethod["kind"] = "round_robin";
  const servers: UpstreamServerConfig[] = [];
  let state: string | null = null;
  const own: ResolverSettings & { zone?: ReturnType<typeof zoneDirective> } = {};
  const tcpCheck = host.health.tcpScope();
  host.walk(d.block!, family === "stream" ? "stream_upstream" : "tcp_upstream", (e, spec) => {
    switch (e.name) {
      case "server":
        servers.push(
          family === "stream" ? streamUpstreamServer(host.cx, e, methodKind) : tcpUpstreamServer(host.cx, e, methodKind),
        );
        return;
      case "hash":
      case "least_conn":
      case "random":
      case "ip_hash":
        if (methodSet) host.cx.warn(e, `load balancing method redefined`);
        methodSet = true;
        method = balanceMethod(host.cx, e);
        methodKind = method.kind;
        return;
      case "check":
      case "check_http_send":
      case "check_http_expect_alive":
        if (host.health.tcpDirective(e, tcpCheck)) return;
        break;
      case "state":
        if (e.args[0]!.includes("$")) host.cx.fail(e, `"state" with variables is not supported`);
        state = e.args[0]!;
        return;
      case "zone":
        own.zone = zoneDirective(host.cx, e);
        return;
      case "resolver":
      case "resolver_timeout":
        if (family === "stream" && resolverSetting(host.cx, e, own)) return;
        break;
    }
    host.ignore(e, spec);
  });
  // With `state`, the servers come from the file (NGINX Plus allows no `server` then);
  // streamlb also takes `server` lines, as the list to start from while the file does not exist.
  if (servers.length === 0 && state === null) {
    throw new ConfigError(`no servers are inside upstream`, { file: d.file, line: d.endLine, col: 0 });
  }
  const healthCheck = host.health.tcpCheck(tcpCheck, name);
  const upstream = {
    name,
    method,
    servers,
    implicit: false,
    healthCheck,
    ...(state !== null && { state }),
    ...own,
    loc: host.cx.loc(d),
  };
  return upstream;
}
