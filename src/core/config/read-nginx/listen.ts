// `listen` in stream{} and tcp{}: the address (ports and ranges) and its parameters. A valid
// parameter streamlb does not act on is a warning only when its row (listen-params.ts) says it is harmless.
import { LISTEN_PARAMS } from "../schema/listen-params.ts";
import type { ListenConfig } from "../model.ts";
import type { NginxDirective } from "./tokenizer.ts";
import { parseSize, parseTime } from "../values/units.ts";
import { atoi } from "../values/kinds.ts";
import type { ReaderContext } from "./context.ts";

type Family = "stream" | "tcp";

export function listen(cx: ReaderContext, d: NginxDirective, family: Family): ListenConfig[] {
  const [address, ...params] = d.args as [string, ...string[]];
  const unixPath = unixSocketPath(cx, d, address, family);
  const { host, ports } = unixPath === null ? listenAddress(cx, d, address, family) : { host: null, ports: [0] };
  const udp = family === "stream" && params.includes("udp");
  if (udp) udpCompatible(cx, d, params);
  let reusePort = false;
  let proxyProtocol = false;
  let ssl = false;
  let defaultServer = false;
  for (const p of params) {
    if (family === "tcp") tcpListenParam(cx, d, p);
    else if (udp && (p === "udp" || p === "reuseport")) reusePort ||= p === "reuseport";
    else if (p === "proxy_protocol") proxyProtocol = true;
    else if (p === "ssl") ssl = true;
    else if (p === "default_server" && family === "stream") defaultServer = true;
    else streamListenParam(cx, d, p);
  }
  // The UDP, PROXY and TLS fields only where set, so a plain TCP listen reads as it always has.
  const extra = udp
    ? { udp: true, ...(reusePort ? { reusePort } : {}) }
    : { ...(proxyProtocol ? { proxyProtocol } : {}), ...(ssl ? { ssl } : {}) };
  const unix = { ...(unixPath === null ? {} : { unixPath }), ...(defaultServer ? { defaultServer } : {}) };
  return ports.map((port) => ({ host, port, ...extra, ...unix, loc: cx.loc(d) }));
}

/** `unix:/path` (stream{} only): the path, or null for any other address. */
export function unixSocketPath(cx: ReaderContext, d: NginxDirective, text: string, family: Family): string | null {
  if (!text.toLowerCase().startsWith("unix:")) return null;
  if (family === "tcp") cx.fail(d, `unix sockets are not supported yet in "${text}" of the "listen" directive`);
  const path = text.slice(5);
  // ngx_parse_unix_domain_url: the path must fit in sun_path.
  if (path.length === 0 || path.length >= 108) {
    cx.fail(
      d,
      `${path.length === 0 ? "no path" : "too long path"} in the unix domain socket in "${text}" of the "listen" directive`,
    );
  }
  return path;
}

/** The parameters nginx refuses beside `udp`, checked before any other (as ngx_stream_core_listen does). */
const NOT_WITH_UDP = ["ssl", "proxy_protocol", "backlog", "fastopen", "deferred", "accept_filter", "so_keepalive", "multipath"];

function udpCompatible(cx: ReaderContext, d: NginxDirective, params: readonly string[]): void {
  for (const p of params) {
    const name = p.replace(/=.*$/s, "");
    if (NOT_WITH_UDP.includes(name)) cx.fail(d, `"listen" directive "${name}" parameter is incompatible with "udp"`);
  }
}

function listenAddress(
  cx: ReaderContext,
  d: NginxDirective,
  text: string,
  family: Family,
): { host: string | null; ports: number[] } {
  const where = `in "${text}" of the "listen" directive`;
  if (text.startsWith("unix:")) cx.fail(d, `unix sockets are not supported yet ${where}`);
  let host: string | null;
  let portText: string | null;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2] ?? null;
  } else if (/^\d+(-\d+)?$/.test(text)) {
    host = null;
    portText = text;
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === "" || host.includes(":")) cx.fail(d, `invalid host ${where}`);
    if (host === "*") host = null;
  } else {
    host = text;
    portText = null;
  }
  if (portText === null) cx.fail(d, `no port ${where}`);
  // stream{} takes port ranges (8000-8010) since nginx 1.15.10; tcp{} does not.
  const range = family === "stream" ? /^(\d+)(?:-(\d+))?$/.exec(portText) : /^(\d+)$/.exec(portText);
  const lo = range ? Number(range[1]) : NaN;
  const hi = range?.[2] !== undefined ? Number(range[2]) : lo;
  if (!(lo >= 1 && lo <= 65535 && hi >= 1 && hi <= 65535)) cx.fail(d, `invalid port ${where}`);
  if (hi < lo) cx.fail(d, `invalid port range ${where}`);
  const ports: number[] = [];
  for (let p = lo; p <= hi; p++) ports.push(p);
  return { host, ports };
}

function streamListenParam(cx: ReaderContext, d: NginxDirective, p: string): void {
  const eq = p.indexOf("=");
  const key = eq < 0 ? p : p.slice(0, eq + 1);
  const value = eq < 0 ? "" : p.slice(eq + 1);
  switch (key) {
    case "bind":
      return; // harmless, and so common that a warning would be noise
    case "backlog=":
      if (!atoi(value)) cx.fail(d, `invalid backlog "${p}"`);
      break;
    case "rcvbuf=":
    case "sndbuf=":
      if (parseSize(value) === null) cx.fail(d, `invalid ${key.slice(0, -1)} "${p}"`);
      break;
    case "fastopen=":
    case "setfib=":
      if (atoi(value) === null) cx.fail(d, `invalid ${key.slice(0, -1)} "${p}"`);
      break;
    case "ipv6only=":
      // nginx matches the prefix "ipv6only=o": anything else is an unknown parameter.
      if (!value.startsWith("o")) cx.fail(d, `the invalid "${p}" parameter`);
      if (value !== "on" && value !== "off") cx.fail(d, `invalid ipv6only flags "${value}"`);
      break;
    case "so_keepalive=":
      if (!validKeepalive(value)) cx.fail(d, `invalid so_keepalive value: "${value}"`);
      break;
    case "reuseport":
    case "deferred":
    case "multipath":
    case "accept_filter=":
      break;
    default:
      cx.fail(d, `the invalid "${p}" parameter`);
  }
  listenParamIgnored(cx, d, key.replace(/=$/, ""));
}

/** A valid listen parameter streamlb does not act on: a warning if harmless, else refused. */
function listenParamIgnored(cx: ReaderContext, d: NginxDirective, name: string): void {
  const support = LISTEN_PARAMS.get(name);
  const why = typeof support === "object" ? support.harmless : undefined;
  if (why === undefined) cx.fail(d, `the "${name}" parameter of "listen" is not supported yet`);
  cx.warn(d, `the "${name}" parameter of "listen" is ignored: ${why}`);
}

function tcpListenParam(cx: ReaderContext, d: NginxDirective, p: string): void {
  if (p === "bind" || p === "default") return;
  if (p === "ssl") cx.fail(d, `the "ssl" parameter of "listen" is not supported yet: streamlb does not terminate TLS`);
  if (p.startsWith("ipv6only=o")) {
    if (p !== "ipv6only=on" && p !== "ipv6only=off") cx.fail(d, `invalid ipv6only flags "${p.slice(9)}"`);
    listenParamIgnored(cx, d, "ipv6only");
  }
  cx.fail(d, `the invalid "${p}" parameter`);
}

/** so_keepalive=on|off|[idle]:[intvl]:[cnt] (times in seconds, any part may be empty). */
function validKeepalive(v: string): boolean {
  if (v === "on" || v === "off") return true;
  const parts = v.split(":");
  if (parts.length !== 3 || parts.every((p) => p === "")) return false;
  return parts.every((p, i) => p === "" || (i === 2 ? atoi(p) !== null : parseTime(p, "s") !== null));
}
