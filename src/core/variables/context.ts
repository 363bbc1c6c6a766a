// What a session must expose for nginx's stream variables to be computed. Every member is
// read lazily by a variable's getter, so a session pays only for what a config asks about;
// the session (or a test) implements this over its own state.

/** One upstream try, for the `$upstream_*` variables (nginx lists one value per try). */
export interface UpstreamTry {
  /** `ip:port`, `unix:…`, or the upstream's name when no peer could be chosen. */
  readonly addr: string;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Milliseconds; -1 for a stage this try never reached (nginx prints `-`). */
  readonly connectMs: number;
  readonly firstByteMs: number;
  readonly sessionMs: number;
}

/** A received PROXY protocol header (§4.1); addresses are null for UNKNOWN/LOCAL headers. */
export interface ProxyHeaderFacts {
  readonly srcAddr: string | null;
  readonly srcPort: number;
  readonly dstAddr: string | null;
  readonly dstPort: number;
  /** The v2 TLV area, raw; null after a v1 header. */
  readonly tlvs: Uint8Array | null;
}

/** What ssl_preread found; null when it did not run or the data was not TLS (variables NF). */
export interface PrereadFacts {
  readonly serverName: string;
  readonly alpnProtocols: string;
  readonly protocol: string;
}

export type LimitConnStatus = "PASSED" | "REJECTED" | "REJECTED_DRY_RUN";

export interface VariableContext {
  /** After realip; IPv6 without brackets, `unix:` for Unix sockets. */
  readonly remoteAddress: string;
  /** 0 for Unix sockets (the variable is then empty). */
  readonly remotePort: number;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly protocol: "TCP" | "UDP";
  /** `$connection`: the session's serial number. */
  readonly connection: number;
  /** Epoch ms when the client was accepted. */
  readonly startMs: number;
  /** Epoch ms now (the clock `$msec`, `$time_*` and `$session_time` read). */
  now(): number;
  /** 0 while the session runs (`$status` reads `000`), then nginx's status. */
  status(): number;
  bytesSent(): number;
  bytesReceived(): number;
  /** Tries so far, in order; empty before any (the `$upstream_*` are then not found). */
  upstreamTries(): readonly UpstreamTry[];
  /** The selected server's first `server_name` (already normalized), "" if none. */
  readonly serverName: string;
  /** null when the listener has no `proxy_protocol`. */
  readonly proxyProtocol: ProxyHeaderFacts | null;
  /** The TCP peer before realip replaced it; null when realip did not act (then = remote). */
  readonly realip: { readonly addr: string; readonly port: number } | null;
  readonly preread: PrereadFacts | null;
  readonly limitConnStatus: LimitConnStatus | null;
  /** An `$ssl_*` variable's value (name without `ssl_`), or null: plain TCP, or unknown. */
  ssl(name: string): string | null;
  /** For run-time complaints nginx logs at evaluation (an unknown PROXY TLV name). */
  logError(message: string): void;
}

/** Facts of the process rather than the session. */
export interface ProcessFacts {
  readonly hostname: string;
  readonly pid: number;
  /** `$nginx_version`: the nginx version streamlb claims to behave as. */
  readonly nginxVersion: string;
}

/**
 * What a variable's getter may read of a session: its context and the process facts, and
 * other variables by index. session-variables.ts's SessionVariables is one; naming the
 * shape here keeps the registry and the session's slots from importing each other.
 */
export interface VariableScope {
  readonly ctx: VariableContext;
  readonly hostname: string;
  readonly pid: number;
  readonly nginxVersion: string;
  captures: readonly (string | undefined)[] | null;
  get(index: number): string | null;
  /** Sets a variable for the rest of the session (`set`, a map's named captures). */
  assign(index: number, value: string): void;
}
