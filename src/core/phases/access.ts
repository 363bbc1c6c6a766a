// The access phase: `allow` / `deny` (nginx's ngx_stream_access_module). Rules are compiled
// once per config into one list per address family, as nginx keeps them; a session asks
// once, right after accept, and a denied client is closed with $status 403.
import type { Phase } from "./phase.ts";
import type { AccessRuleConfig } from "../config/model.ts";
import { parseIPv4, parseIPv6, V4_MAPPED_PREFIX } from "../variables/ip.ts";

const ALL_128 = (1n << 128n) - 1n;
const LOW_32 = 0xffffffffn;

/** What one rule's argument matches, once parsed (`all`, `unix:`, an address or a CIDR). */
export type AccessMatch =
  | { readonly kind: "all" }
  | { readonly kind: "unix" }
  | { readonly kind: "ipv4"; readonly addr: number; readonly mask: number }
  | { readonly kind: "ipv6"; readonly addr: bigint; readonly mask: bigint };

export type ParsedAccessRule =
  | {
    readonly ok: true;
    readonly match: AccessMatch; /** Host bits were set past the mask (nginx warns). */
    readonly lowBits: boolean;
  }
  | { readonly ok: false };

/**
 * nginx's ngx_ptocidr for an allow/deny argument. Host bits past the prefix are cleared,
 * as nginx does, and reported so the reader can warn "low address bits … are meaningless".
 */
export function parseAccessRule(text: string): ParsedAccessRule {
  if (text === "all") return { ok: true, match: { kind: "all" }, lowBits: false };
  if (text === "unix:") return { ok: true, match: { kind: "unix" }, lowBits: false };
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bitsText = slash < 0 ? null : text.slice(slash + 1);
  const v4 = parseIPv4(addrText);
  if (v4 !== null) {
    const bits = prefixBits(bitsText, 32);
    if (bits === null) return { ok: false };
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const addr = (v4 & mask) >>> 0;
    return { ok: true, match: { kind: "ipv4", addr, mask }, lowBits: addr !== v4 };
  }
  const v6 = parseIPv6(addrText);
  if (v6 !== null) {
    const bits = prefixBits(bitsText, 128);
    if (bits === null) return { ok: false };
    const mask = ALL_128 ^ ((1n << BigInt(128 - bits)) - 1n);
    const addr = v6 & mask;
    return { ok: true, match: { kind: "ipv6", addr, mask }, lowBits: addr !== v6 };
  }
  return { ok: false };
}

interface CompiledRule<T> {
  readonly allow: boolean;
  readonly match: T;
}

/** One server's rules, split by family as nginx's rules/rules6/rules_un; null when it has none. */
export class AccessRules {
  private readonly v4: CompiledRule<{ addr: number; mask: number }>[] = [];
  private readonly v6: CompiledRule<{ addr: bigint; mask: bigint }>[] = [];
  private readonly unix: CompiledRule<null>[] = [];

  static compile(rules: readonly AccessRuleConfig[]): AccessRules | null {
    if (rules.length === 0) return null;
    const compiled = new AccessRules();
    for (const rule of rules) {
      const parsed = parseAccessRule(rule.address);
      // The loaders refuse a bad rule with its place; a model that holds one is a bug.
      if (!parsed.ok) throw new Error(`invalid access rule "${rule.address}"`);
      compiled.add(rule.action === "allow", parsed.match);
    }
    return compiled;
  }

  private add(allow: boolean, match: AccessMatch): void {
    switch (match.kind) {
      case "all":
        this.v4.push({ allow, match: { addr: 0, mask: 0 } });
        this.v6.push({ allow, match: { addr: 0n, mask: 0n } });
        this.unix.push({ allow, match: null });
        return;
      case "unix":
        this.unix.push({ allow, match: null });
        return;
      case "ipv4":
        this.v4.push({ allow, match });
        return;
      case "ipv6":
        this.v6.push({ allow, match });
        return;
    }
  }

  /** true: no rule denies this client (an allow matched, or nothing matched). */
  allows(remoteAddress: string): boolean {
    const v4 = parseIPv4(remoteAddress);
    if (v4 !== null) return this.checkV4(v4);
    const v6 = parseIPv6(remoteAddress);
    if (v6 === null) return this.checkUnix();
    // A v4-mapped client meets the IPv4 rules when there are any (ngx_stream_access_handler).
    if (this.v4.length > 0 && (v6 & ~LOW_32) === V4_MAPPED_PREFIX) return this.checkV4(Number(v6 & LOW_32));
    for (const r of this.v6) if ((v6 & r.match.mask) === r.match.addr) return r.allow;
    return true;
  }

  private checkV4(addr: number): boolean {
    for (const r of this.v4) if (((addr & r.match.mask) >>> 0) === r.match.addr) return r.allow;
    return true;
  }

  private checkUnix(): boolean {
    const first = this.unix[0];
    return first ? first.allow : true;
  }
}

function prefixBits(text: string | null, max: number): number | null {
  if (text === null) return max;
  if (!/^\d{1,3}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** The access phase (ngx_stream_access_handler): a denied client never reaches the upstream. */
export function accessPhase(rules: AccessRules): Phase {
  return {
    name: "access",
    run(s) {
      if (rules.allows(s.remoteAddress)) return "next";
      s.logClientError("error", "access forbidden by rule");
      return 403;
    },
  };
}
