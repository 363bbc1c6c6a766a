// The `resolver`, `zone` and `server … resolve [service=]` settings as words, shared by the
// nginx and YAML readers and both writers: each reader turns its own syntax into these words,
// so the two spellings take and refuse exactly the same values.
import { parseHostPort } from "./values/address.ts";
import type { ResolverConfig, SourceLoc, ZoneConfig } from "./model.ts";
import { formatSize, formatTime, parseSize, parseTime } from "./values/units.ts";

/** nginx's smallest zone: 8 pages of 4 KiB. */
const MIN_ZONE = 8 * 4096;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** `resolver`'s arguments; returns nginx's message when one is wrong. */
export function parseResolver(words: readonly string[], loc: SourceLoc): ResolverConfig | string {
  const addresses: string[] = [];
  const servers: { host: string; port: number }[] = [];
  let validMs: number | null = null;
  let ipv4 = true;
  let ipv6 = true;
  for (const w of words) {
    if (w.startsWith("valid=")) {
      const t = parseTime(w.slice(6), "s");
      if (t === null) return `invalid parameter: ${w}`;
      validMs = t;
      continue;
    }
    if (w.startsWith("ipv4=") || w.startsWith("ipv6=")) {
      const v = w.slice(5);
      if (v !== "on" && v !== "off") return `invalid parameter: ${w}`;
      if (w.startsWith("ipv4=")) ipv4 = v === "on";
      else ipv6 = v === "on";
      continue;
    }
    const server = resolverAddress(w);
    if (typeof server === "string") return server;
    addresses.push(w);
    servers.push(server);
  }
  if (!ipv4 && !ipv6) return `"ipv4" and "ipv6" cannot both be "off"`;
  if (servers.length === 0) return `invalid number of arguments in "resolver" directive`;
  return { addresses, servers, validMs, ipv4, ipv6, loc };
}

/** An IP address, with a port or 53. Names would need a lookup at load time, which streamlb does not make. */
function resolverAddress(w: string): { host: string; port: number } | string {
  const withPort = parseHostPort(w);
  const bare = /^\[([0-9a-fA-F:.]+)\]$/.exec(w)?.[1] ??
    (IPV4.test(w) || (w.includes(":") && /^[0-9a-fA-F:.]+$/.test(w)) ? w : null);
  const named = /^[A-Za-z0-9.-]+$/.test(w) ? { host: w, port: 53 } : null;
  const hp = withPort ?? (bare !== null ? { host: bare, port: 53 } : named);
  if (!hp) return `invalid address in resolver "${w}"`;
  if (!IPV4.test(hp.host) && !hp.host.includes(":")) {
    return `host names in "resolver" are not supported yet: write the DNS server's IP address instead of "${w}"`;
  }
  return hp;
}

/** The words that read back into the same resolver. */
export function resolverWords(r: ResolverConfig): string[] {
  const words = [...r.addresses];
  if (r.validMs !== null) words.push(`valid=${formatTime(r.validMs)}`);
  if (!r.ipv4) words.push("ipv4=off");
  if (!r.ipv6) words.push("ipv6=off");
  return words;
}

export function parseZone(words: readonly string[]): ZoneConfig | string {
  const [name, sizeWord] = words;
  if (!name) return `invalid number of arguments in "zone" directive`;
  if (sizeWord === undefined) return { name, size: null };
  const size = parseSize(sizeWord);
  if (size === null) return `invalid zone size "${sizeWord}"`;
  if (size < MIN_ZONE) return `zone "${name}" is too small`;
  return { name, size };
}

export function zoneWords(z: ZoneConfig): string[] {
  return z.size === null ? [z.name] : [z.name, formatSize(z.size)];
}

/** What `resolve` and `service=` demand of a server's address, in nginx's words; null when fine. */
export function resolveProblem(
  text: string,
  host: string,
  hasPort: boolean,
  resolve: boolean,
  service: string | null,
): string | null {
  if (service === null) return null;
  if (service === "") return "service is empty";
  if (!resolve) return `service upstream "${text}" requires "resolve" parameter`;
  if (hasPort) return `service upstream "${text}" may not have port`;
  if (IPV4.test(host) || host.includes(":")) return `service upstream "${text}" requires domain name`;
  return null;
}

/** Whether a host needs a lookup at all: an address literal is its own answer. */
export function isAddressLiteral(host: string): boolean {
  return IPV4.test(host) || host.includes(":");
}
