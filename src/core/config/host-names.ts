// Host names nginx looks up once, while it reads the config (ngx_inet_resolve_host), with the
// system's resolver rather than the `resolver` directive: today `set_real_ip_from NAME`, which
// trusts every address the name has. The readers keep the name (so writers and -T give it
// back); the loader (cli.ts, mod.ts) calls this with runtime/host-lookup.ts before the config
// is used: at start, at -t and at each reload.
import { ConfigError } from "./errors.ts";
import type { Config, ServerConfig } from "./model.ts";
import { isRealipHostName } from "../phases/realip.ts";

/** The system's answer for a name: its addresses (IPv4 and IPv6), empty or rejected when none. */
export type HostLookup = (host: string) => Promise<readonly string[]>;

/** True when the config holds a name that lookUpHostNames must resolve. */
export function hasHostNames(config: Config): boolean {
  return config.stream.servers.some((s) => s.realipFrom?.some(isRealipHostName));
}

/**
 * The config with each name in set_real_ip_from replaced by all of its addresses (each one a
 * single-address rule, as nginx makes /32 and /128 of them). A name with no address fails
 * the load in nginx's words; without a lookup (a runtime that has none) names are refused.
 */
export async function lookUpHostNames(config: Config, lookup: HostLookup | undefined): Promise<Config> {
  if (!hasHostNames(config)) return config;
  const answers = new Map<string, Promise<readonly string[]>>();
  const addressesOf = (host: string): Promise<readonly string[]> => {
    let answer = answers.get(host.toLowerCase());
    if (!answer) {
      answer = lookup ? lookup(host).catch(() => []) : Promise.resolve([]);
      answers.set(host.toLowerCase(), answer);
    }
    return answer;
  };
  const servers: ServerConfig[] = [];
  for (const server of config.stream.servers) {
    const from = server.realipFrom;
    if (!from?.some(isRealipHostName)) {
      servers.push(server);
      continue;
    }
    const expanded: string[] = [];
    for (const entry of from) {
      if (!isRealipHostName(entry)) {
        expanded.push(entry);
        continue;
      }
      const addresses = await addressesOf(entry);
      if (addresses.length === 0) {
        const why = lookup ? "host not found" : "host names cannot be resolved on this runtime";
        throw new ConfigError(`${why} in set_real_ip_from "${entry}"`, server.loc);
      }
      for (const a of addresses) if (!expanded.includes(a)) expanded.push(a);
    }
    servers.push({ ...server, realipFrom: expanded });
  }
  return { ...config, stream: { ...config.stream, servers } };
}
