// A phase of nginx's stream session (ngx_stream_core_module's phase engine): post-accept
// (realip, PROXY protocol), pre-access (set, limit_conn), access (allow/deny), ssl, preread,
// then content (proxy_pass or return) and log. A server{} lists only the phases its config
// switches on, so a plain proxy runs none and pays nothing for them.
import type { Logger } from "../log.ts";
import type { ClientConnection } from "../runtime.ts";
import type { TlsFacts } from "../runtime-tls.ts";
import type { SessionStatus } from "../session-outcome.ts";
import type { LimitConnStatus, PrereadFacts, ProxyHeaderFacts } from "../variables/context.ts";
import type { SessionVariables } from "../variables/session-variables.ts";

/** What a phase handler decides: go on to the next phase, or end the session with a status. */
export type PhaseVerdict = "next" | SessionStatus;

/** Where phases run, in nginx's order; a phase may only be at its own place. */
export type PhaseName = "post_accept" | "pre_access" | "access" | "ssl" | "preread";

export const PHASE_ORDER: readonly PhaseName[] = ["post_accept", "pre_access", "access", "ssl", "preread"];

export interface Phase {
  readonly name: PhaseName;
  /** Synchronous where it can be: only phases that wait for the client return a promise. */
  run(s: PhaseSession): PhaseVerdict | Promise<PhaseVerdict>;
}

/** What a phase may read and change of its session. */
export interface PhaseSession {
  readonly id: number;
  readonly client: ClientConnection;
  readonly logger: Logger;
  /** `0.0.0.0:8000`, for log lines. */
  readonly listenName: string;
  /** The session's variables (made at first use). */
  readonly variables: SessionVariables;
  /** $remote_addr as the phases see it so far (after realip). */
  readonly remoteAddress: string;
  /** A received PROXY protocol header ($proxy_protocol_*). */
  proxyProtocol: ProxyHeaderFacts | null;
  /** realip: the client's address from the PROXY header replaces the TCP peer's. */
  setRealip(addr: string, port: number): void;
  preread: PrereadFacts | null;
  limitConnStatus: LimitConnStatus | null;
  /** Client bytes a phase read that the upstream must get first, in order (PROXY, preread). */
  keepEarlyData(bytes: Uint8Array): void;
  /**
   * The ssl phase: SNI chose another server block of the address; its settings, phases and
   * content serve the session from here on (an opaque route, session.ts's Route).
   */
  chooseRoute?(route: object): void;
  /**
   * ssl_preread read the client's server name: the server block it names among those on the
   * address serves the session from here on (ngx_stream_ssl_preread_servername).
   */
  chooseServerByName?(serverName: string): void;
  /**
   * The ssl phase read the ClientHello: until the handshake ends, $ssl_server_name is this
   * name (nginx's certificate callback reads it) and the other $ssl_* are not found.
   */
  tlsServerName?(name: string): void;
  /** The ssl phase: the client speaks through its TLS side from here on ($ssl_* read `facts`). */
  useTls(client: ClientConnection, facts: TlsFacts): void;
  /** The client's handshake, when one ran already (`pass` hands on a connection with its TLS). */
  readonly tlsFacts?: TlsFacts | null;
  /**
   * Hands back (and forgets) the client bytes kept so far: nginx leaves bytes after a PROXY
   * header in the socket, so preread must see them first, then keeps them again itself.
   */
  takeEarlyData(): Uint8Array | null;
  /** Runs when the session ends, whatever the outcome (limit_conn gives its slot back). */
  onEnd(release: () => void): void;
  /** `*ID message, client: ADDR, server: LISTEN`, nginx's error-log tail. */
  logClientError(level: "error" | "warn" | "info" | "notice", message: string): void;
}
