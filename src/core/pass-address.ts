// The address of `pass ADDRESS` as nginx reads it (ngx_parse_url, told not to resolve): an
// IPv4 literal or an [IPv6] one with a port, or unix:PATH. A host name parses but has no
// address, so it can never name a listener; nginx words that and every other fault itself,
// once at load for a literal and per session for a value built from variables.
import { formatIPv4, formatIPv6 } from "./phases/ip-text.ts";
import { parseIPv6 } from "./variables/ip.ts";

export type PassAddress =
  | {
    readonly family: "ipv4" | "ipv6";
    readonly bytes: Uint8Array;
    readonly port: number;
    /** nginx's text of it: `127.0.0.1:8080`, `[::1]:8080`. */
    readonly name: string;
    /** The address alone, as $server_addr shows it. */
    readonly host: string;
  }
  | { readonly family: "unix"; readonly path: string; readonly name: string };

/** Why an address is not one: ngx_parse_url's own error, or a URL with no address or no port. */
export type PassAddressFault =
  | { readonly kind: "error"; readonly err: string }
  | { readonly kind: "no addresses" }
  | { readonly kind: "no port" };

/** Linux's sizeof(sun_path): the path and its NUL must fit. */
const SUN_PATH_SIZE = 108;

export function parsePassAddress(url: string): PassAddress | PassAddressFault {
  if (url.length >= 5 && url.slice(0, 5).toLowerCase() === "unix:") {
    const path = url.slice(5);
    if (path.length === 0) return fault("no path in the unix domain socket");
    if (path.length + 1 > SUN_PATH_SIZE) return fault("too long path in the unix domain socket");
    return { family: "unix", path, name: url };
  }
  return url.startsWith("[") ? parseInet6(url) : parseInet(url);
}

/** The error nginx gives at load for `pass` with this literal address; null when it is good. */
export function passDirectiveProblem(url: string): string | null {
  const a = parsePassAddress(url);
  if (!("kind" in a)) return null;
  if (a.kind === "error") return `${a.err} in "${url}" of the "pass" directive`;
  return a.kind === "no addresses" ? `"pass" directive has no addresses` : `"pass" directive has no port`;
}

/** The error nginx logs when a session's `pass $var` evaluates to this; null when it is good. */
export function passSessionProblem(a: PassAddress | PassAddressFault, url: string): string | null {
  if (!("kind" in a)) return null;
  if (a.kind === "error") return `${a.err} in pass "${url}"`;
  return `${a.kind} in pass "${url}"`;
}

function parseInet(url: string): PassAddress | PassAddressFault {
  // No part after the address is allowed: a path or arguments make the host invalid.
  if (/[/?]/.test(url)) return fault("invalid host");
  const colon = url.indexOf(":");
  const port = colon < 0 ? null : atoiPort(url.slice(colon + 1));
  if (port === 0) return fault("invalid port");
  const host = colon < 0 ? url : url.slice(0, colon);
  if (host.length === 0) return fault("no host");
  const bytes = inetAddr(host);
  if (bytes === null) return { kind: "no addresses" };
  if (port === null) return { kind: "no port" };
  const text = formatIPv4(bytes);
  return { family: "ipv4", bytes, port, host: text, name: `${text}:${port}` };
}

function parseInet6(url: string): PassAddress | PassAddressFault {
  const close = url.indexOf("]", 1);
  if (close < 0) return fault("invalid host");
  const rest = url.slice(close + 1);
  if (rest.includes("/")) return fault("invalid host");
  if (rest.length > 0 && rest[0] !== ":") return fault("invalid host");
  const port = rest.length > 0 ? atoiPort(rest.slice(1)) : null;
  if (port === 0) return fault("invalid port");
  const inner = url.slice(1, close);
  if (inner.length === 0) return fault("no host");
  const v6 = /^[0-9a-fA-F:.]+$/.test(inner) ? parseIPv6(inner) : null;
  if (v6 === null) return fault("invalid IPv6 address");
  if (port === null) return { kind: "no port" };
  const bytes = new Uint8Array(16);
  for (let i = 15, v = v6; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  const text = formatIPv6(bytes);
  return { family: "ipv6", bytes, port, host: text, name: `[${text}]:${port}` };
}

/** ngx_atoi and the range check: the port, or 0 when it is not one. */
function atoiPort(text: string): number {
  if (!/^[0-9]+$/.test(text)) return 0;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : 0;
}

/** ngx_inet_addr: four dot-separated decimal octets (leading zeros and empty octets read as nginx reads them). */
function inetAddr(text: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let octet = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return null;
    } else if (c === 0x2e && n < 3) {
      out[n++] = octet;
      octet = 0;
    } else return null;
  }
  if (n !== 3) return null;
  out[3] = octet;
  // 255.255.255.255 is INADDR_NONE, nginx's "not an address": it reads as a host name.
  return out.every((b) => b === 255) ? null : out;
}

function fault(err: string): PassAddressFault {
  return { kind: "error", err };
}
