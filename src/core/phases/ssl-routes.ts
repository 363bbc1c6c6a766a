// A config's routes get their TLS: certificates loaded and contexts compiled (on start and on
// every reload, before anything changes), and the ssl phase where clients speak TLS. On an
// address several server blocks share, each gets its own, and the phase chooses by SNI.
import type { ServerConfig } from "../config/model.ts";
import { listenKey } from "../config/model.ts";
import type { Logger } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import type { Phase } from "./phase.ts";
import { addPhase } from "./pipeline.ts";
import { sslPhase } from "./ssl.ts";
import { compileRouteTls, type RouteTls } from "./ssl-setup.ts";
import type { VirtualRoutes } from "./ssl-sni.ts";
import type { CertificateValues } from "../variables/stream-variables.ts";

/** What withRouteTls reads and sets of a route (session.ts's Route). */
interface TlsRoute {
  readonly server: ServerConfig;
  readonly phases?: readonly Phase[];
  readonly tls?: RouteTls | null;
  readonly virtual?: VirtualRoutes<TlsRoute>;
  /** ssl_certificate pairs with variables (routes.ts). */
  readonly certificates?: readonly CertificateValues[];
}

/**
 * Each route with the TLS its address's `ssl` and its server's proxy_ssl ask for, compiled
 * once per server and `ssl` value, and the ssl phase where its clients speak TLS; routes
 * without TLS are left as they are.
 */
export async function withRouteTls<R extends TlsRoute>(
  runtime: Runtime,
  routes: ReadonlyMap<string, R>,
  logger: Pick<Logger, "log"> | null = null,
): Promise<Map<string, R>> {
  // Each key file is warned about once per start or reload, not once per server using it.
  const warned = new Set<string>();
  const warn = (m: string) => void (!warned.has(m) && warned.add(m) && logger?.log("warn", m));
  const compiled = new Map<ServerConfig, Map<string, RouteTls | null>>();
  const tlsOf = async ({ server, certificates }: TlsRoute, ssl: boolean, byName: boolean) => {
    let byServer = compiled.get(server);
    if (!byServer) compiled.set(server, byServer = new Map());
    const k = `${ssl} ${byName}`;
    if (!byServer.has(k)) byServer.set(k, await compileRouteTls(runtime, server, ssl, byName, warn, certificates ?? null));
    return byServer.get(k)!;
  };
  const out = new Map<string, R>();
  for (const [key, route] of routes) {
    const others = (route.virtual?.routes ?? []) as readonly R[];
    // The address is TLS when any of its servers says `listen … ssl` (nginx ORs them).
    const ssl = [route, ...others].some((r) => r.server.listen.find((l) => listenKey(l) === key)?.ssl === true);
    const named: R[] = [];
    for (const r of others) {
      const tls = await tlsOf(r, ssl, true);
      named.push(tls ? { ...r, tls } : r);
    }
    const tls = await tlsOf(route, ssl, false);
    const virtual = route.virtual ? { virtual: { names: route.virtual.names, routes: named } } : {};
    if (!tls) out.set(key, { ...route, ...virtual });
    else {
      const phase = tls.ssl ? { phases: addPhase(route.phases, sslPhase(tls, route.virtual ? virtual.virtual! : null)) } : {};
      out.set(key, { ...route, ...virtual, tls, ...phase });
    }
  }
  return out;
}
