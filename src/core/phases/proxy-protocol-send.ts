// `proxy_protocol on|v2`: the header nginx sends the upstream ahead of any client byte. It
// describes the client connection: the client's address after realip, and the local address
// and port the client reached (not those of a PROXY header it received).
import type { Connection } from "../runtime.ts";
import { type PeerAddress, proxyProtocolV1, proxyProtocolV2 } from "./proxy-protocol-write.ts";

function peer(address: string, port: number): PeerAddress {
  if (address.startsWith("unix:")) return { family: "unix" };
  return { family: address.includes(":") ? "ipv6" : "ipv4", address, port };
}

/** null when the header cannot be built (nginx then ends the session with 500). */
export function proxyProtocolHeader(
  version: "on" | "v2",
  remoteAddress: string,
  remotePort: number,
  client: Pick<Connection, "localAddress" | "localPort">,
): Uint8Array | null {
  const from = peer(remoteAddress, remotePort);
  const to = peer(client.localAddress, client.localPort);
  return version === "on" ? proxyProtocolV1(from, to) : proxyProtocolV2(from, to, { transport: "tcp" });
}
