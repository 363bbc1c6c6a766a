// set_real_ip_from (ngx_stream_realip_module): after a PROXY header with addresses from a
// trusted peer, the header's source becomes $remote_addr/$remote_port for everything after
// (access, limit_conn, hash keys, logs, the PROXY header sent on); $realip_remote_* keep the
// peer's. The list is matched as an allow list over the TCP peer's address.
import { AccessRules, parseAccessRule } from "./access.ts";
import { parseIPv4, parseIPv6 } from "../variables/ip.ts";
import type { Phase } from "./phase.ts";

/**
 * A host name (nginx's ngx_inet_resolve_host at load): the config keeps the name, and the
 * loader swaps in all of its addresses (config/host-names.ts) before anything runs.
 */
export function isRealipHostName(text: string): boolean {
  // "all" too: it is not allow/deny's `all` here, nginx looks it up like any name.
  return /^[A-Za-z0-9.-]+$/.test(text) && /[A-Za-z]/.test(text);
}

/** nginx's complaint about one set_real_ip_from argument, or null when it is one streamlb takes. */
export function realipFromError(text: string): string | null {
  if (text !== "all" && parseAccessRule(text).ok) return null;
  if (isRealipHostName(text)) return null;
  return `invalid parameter "${text}"`;
}

export function realipPhase(from: readonly string[]): Phase | null {
  if (from.length === 0) return null;
  // Fail closed: a name nobody looked up must not turn into "trust no one" or "trust anyone".
  const name = from.find(isRealipHostName);
  if (name !== undefined) throw new Error(`set_real_ip_from "${name}" was not resolved at load`);
  const loc = { file: "", line: 0, col: 0 };
  // The listed peers are allowed, everyone else denied: allows() then reads "is trusted".
  const trusted = AccessRules.compile([
    ...from.map((address) => ({ action: "allow" as const, address, loc })),
    { action: "deny", address: "all", loc },
  ])!;
  return {
    name: "post_accept",
    run(s) {
      const h = s.proxyProtocol;
      if (h === null || h.srcAddr === null) return "next";
      // A v1 address is the text as sent: one that is not an address leaves the peer's (nginx declines).
      if (parseIPv4(h.srcAddr) === null && parseIPv6(h.srcAddr) === null) return "next";
      if (trusted.allows(s.client.remoteAddress)) s.setRealip(h.srcAddr, h.srcPort);
      return "next";
    },
  };
}
