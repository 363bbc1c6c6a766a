// A config's routes get their TLS: certificates loaded and contexts compiled (on start and on
// every reload, before anything changes), and the ssl phase where clients speak TLS.
import type { ServerConfig } from "../config/model.ts";
import { listenKey } from "../config/model.ts";
import type { Runtime } from "../runtime.ts";
import type { Phase } from "./phase.ts";
import { addPhase } from "./pipeline.ts";
import { sslPhase } from "./ssl.ts";
import { compileRouteTls, type RouteTls } from "./ssl-setup.ts";

/** What withRouteTls reads and sets of a route (session.ts's Route). */
interface TlsRoute {
  readonly server: ServerConfig;
  readonly phases?: readonly Phase[];
  readonly tls?: RouteTls | null;
}

/**
 * Each route with the TLS its listener's `ssl` and its server's proxy_ssl ask for, compiled
 * once per server and `ssl` value, and the ssl phase where its clients speak TLS; routes
 * without TLS are left as they are.
 */
export async function withRouteTls<R extends TlsRoute>(
  runtime: Runtime,
  routes: ReadonlyMap<string, R>,
): Promise<Map<string, R>> {
  const compiled = new Map<ServerConfig, Map<boolean, RouteTls | null>>();
  const out = new Map<string, R>();
  for (const [key, route] of routes) {
    const ssl = route.server.listen.find((l) => listenKey(l) === key)?.ssl === true;
    let byServer = compiled.get(route.server);
    if (!byServer) compiled.set(route.server, byServer = new Map());
    if (!byServer.has(ssl)) byServer.set(ssl, await compileRouteTls(runtime, route.server, ssl));
    const tls = byServer.get(ssl)!;
    if (!tls) out.set(key, route);
    else out.set(key, { ...route, tls, ...(tls.server && { phases: addPhase(route.phases, sslPhase(tls)) }) });
  }
  return out;
}
