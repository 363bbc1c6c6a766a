// listen's parameters, one row each, as the upstream server line's are (upstream-server.ts):
// what streamlb does with each. Fail closed: `harmless` only where leaving it out provably
// changes no access decision, no resource limit and no byte on the wire, with the reason the
// warning gives; every other parameter streamlb does not run is an [emerg] ("… is not
// supported yet"). test/unit/fail-closed.test.ts walks every parameter against it.
import type { Support } from "./directive.ts";

const harmless = (why: string): Support => ({ harmless: why });
const BUFFER_HINT = harmless("a socket buffer size hint");

/** stream{}'s listen parameters (tcp{}'s are a subset: bind, default, ssl, ipv6only). */
export const LISTEN_PARAMS: ReadonlyMap<string, Support> = new Map([
  ["bind", harmless("streamlb binds every listen address on its own")],
  ["default_server", "runs"],
  ["reuseport", harmless("one process needs none, and streamlb's workers always use SO_REUSEPORT")],
  ["rcvbuf", BUFFER_HINT],
  ["sndbuf", BUFFER_HINT],
  ["deferred", harmless("when the kernel wakes the process for a new client, not whether it is served")],
  ["fastopen", harmless("clients fall back to a plain handshake and send the same bytes")],
  ["setfib", harmless("a FreeBSD routing table; nginx on Linux has none either")],
  ["accept_filter", harmless("a FreeBSD accept filter; nginx on Linux has none either")],
  ["backlog", "refused"],
  ["so_keepalive", "refused"],
  ["ipv6only", "refused"],
  ["multipath", "refused"],
  ["udp", "runs"],
  ["ssl", "runs"],
  ["proxy_protocol", "runs"],
]);

/** `listen` parameters streamlb accepts without acting on, and why that is safe. */
export const HARMLESS_LISTEN_PARAMS: ReadonlyMap<string, string> = new Map(
  [...LISTEN_PARAMS].flatMap(([name, s]) => (typeof s === "object" ? [[name, s.harmless] as const] : [])),
);
