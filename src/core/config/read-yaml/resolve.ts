// The YAML spelling of `resolver`, `resolver_timeout`, `zone` and a server's `resolve` and
// `service`: each becomes nginx's words and goes through the same checks (resolver.ts).
import { isMap, isScalar, type Node } from "yaml";
import { parseHostPort } from "../values/address.ts";
import type { ResolverConfig, ZoneConfig } from "../model.ts";
import { formatSize, formatTime } from "../values/units.ts";
import { isAddressLiteral, parseResolver, parseZone, resolveProblem } from "../resolver.ts";
import type { Entries, YamlWalker } from "./walker.ts";

export const RESOLVER_KEYS = ["resolver", "resolver_timeout"];

/**
 * `resolver: "127.0.0.1:5353"`, a list of addresses, or
 * `{ addresses: [...], valid: 1s, ipv4: true, ipv6: false }`; and `resolver_timeout: 1s`.
 */
export function yamlResolver(
  w: YamlWalker,
  e: Entries,
  what: string,
): { resolver?: ResolverConfig; resolverTimeoutMs?: number } {
  const out: { resolver?: ResolverConfig; resolverTimeoutMs?: number } = {};
  const timeout = e.get("resolver_timeout");
  if (timeout) out.resolverTimeoutMs = w.time(timeout.value, `${what} resolver_timeout`, "ms");
  const r = e.get("resolver");
  if (!r) return out;
  const words: string[] = [];
  let addressesNode: Node | null = r.value;
  if (isMap(r.value)) {
    const m = w.entries(r.value, `${what} resolver`, ["addresses", "valid", "ipv4", "ipv6"]);
    if (!m.has("addresses")) w.fail(r.value, `${what} resolver needs addresses`);
    addressesNode = m.get("addresses")!.value;
    const valid = m.get("valid");
    if (valid) words.push(`valid=${formatTime(w.time(valid.value, "resolver valid", "s"))}`);
    for (const v of ["ipv4", "ipv6"]) {
      const f = m.get(v);
      if (f) words.push(`${v}=${w.flag(f.value, `resolver ${v}`) ? "on" : "off"}`);
    }
  }
  const addresses = w.listOrOne(addressesNode).map((n) => String(w.scalar(n, "resolver address")));
  const parsed = parseResolver([...addresses, ...words], w.loc(r.value));
  if (typeof parsed === "string") w.fail(r.value, parsed);
  out.resolver = parsed;
  return out;
}

/** `zone: NAME` or `zone: { name: NAME, size: 1m }`. */
export function yamlZone(w: YamlWalker, node: Node | null): ZoneConfig {
  let words: string[];
  if (isScalar(node)) words = [w.string(node, "zone")];
  else {
    const m = w.entries(node, "zone", ["name", "size"]);
    if (!m.has("name")) w.fail(node, "zone needs a name");
    words = [w.string(m.get("name")!.value, "zone name")];
    if (m.has("size")) words.push(formatSize(w.size(m.get("size")!.value, "zone size")));
  }
  const z = parseZone(words);
  if (typeof z === "string") w.fail(node, z);
  return z;
}

/**
 * A server's address with `resolve` and `service`: host:port as always, or a bare domain for
 * a service (the SRV records give the ports). Null when the address is an ordinary one.
 */
export function yamlResolveServer(
  w: YamlWalker,
  e: Entries,
  addressNode: Node,
  address: string,
): { host: string; port: number; resolve?: boolean; service?: string } | null {
  const resolve = e.has("resolve") ? w.flag(e.get("resolve")!.value, "resolve") : false;
  const service = e.has("service") ? w.string(e.get("service")!.value, "service") : null;
  if (service !== null) {
    const hp = parseHostPort(address);
    const problem = resolveProblem(address, hp ? hp.host : address, hp !== null, resolve, service);
    if (problem) w.fail(addressNode, problem);
    return { host: address, port: 0, resolve, service };
  }
  if (!resolve) return null;
  const hp = parseHostPort(address);
  if (!hp) w.fail(addressNode, `invalid server address "${address}": expected host:port or [v6]:port`);
  return isAddressLiteral(hp.host) ? hp : { ...hp, resolve: true };
}
