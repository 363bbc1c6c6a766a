// What a TCP session is to its phases, variables and hash keys: the facts it gathers (realip,
// PROXY, TLS, early bytes) and the getters that read them. session.ts runs the session's life
// on top of these; the split keeps each file to one job.
import type { Logger } from "./log.ts";
import type { SessionRecord } from "./access-log.ts";
import type { SessionOutcome } from "./session-outcome.ts";
import type { PhaseSession } from "./phases/phase.ts";
import type { ClientConnection, RelayResult } from "./runtime.ts";
import { concat } from "./session-text.ts";
import type { Route } from "./route.ts";
import { SessionBase } from "./session-base.ts";
import type { TlsFacts } from "./runtime-tls.ts";
import { helloFacts, sslVariable } from "./phases/ssl-variables.ts";
import { findVirtualRoute } from "./phases/ssl-sni.ts";
import type { PassCarry } from "./pass-content.ts";

/**
 * A session is its own variable context and pick context (getters, because reading an
 * address can be a system call and only hash keys, maps and logs look), so the plain proxy
 * path makes no object beyond the session itself.
 */
export abstract class SessionFacts extends SessionBase implements PhaseSession {
  /** When the client was accepted ($session_time counts from here). */
  readonly startMs = Date.now();
  readonly protocol = "TCP";
  protected relayResult: RelayResult | null = null;
  protected early: Uint8Array[] | null = null;
  realip: { readonly addr: string; readonly port: number } | null = null;
  protected realAddr: { readonly addr: string; readonly port: number } | null = null;
  /** The client's handshake ($ssl_* variables); null on plain TCP. */
  tlsFacts: TlsFacts | null = null;
  /** The addresses as accepted, for the access log. */
  private logAddresses: Pick<ClientConnection, "remoteAddress" | "remotePort" | "localAddress" | "localPort"> | null = null;
  /** What the connection brought when `pass` handed it to this session's listener. */
  protected readonly carried: PassCarry | null;

  constructor(
    id: number,
    /** Replaced by its TLS side once the ssl phase has run. */
    public client: ClientConnection,
    route: Route,
    /** The main error logs; the server's own error_log (route.errorLog) wins. */
    private readonly mainLogger: Logger,
    carry: PassCarry | null,
  ) {
    super(id, route);
    this.carried = carry;
    if (carry) {
      ({ tlsFacts: this.tlsFacts, remote: this.realAddr, proxyProtocol: this.proxyProtocol, releases: this.releases } = carry);
      if (carry.early) this.early = [carry.early];
    }
  }

  /** With an access log, the addresses are read at accept: a closed socket may no longer know them. */
  keepAddressesForLog(): void {
    const client = this.client;
    this.logAddresses = {
      remoteAddress: client.remoteAddress,
      remotePort: client.remotePort,
      localAddress: this.serverAddress,
      localPort: this.serverPort,
    };
  }

  /** What the access log writes of the session once it is over. */
  record(outcome: SessionOutcome): SessionRecord {
    return {
      id: this.id,
      client: this.logAddresses ?? this.client,
      startMs: this.startMs,
      endMs: Date.now(),
      outcome,
      variables: this.variables,
    };
  }

  /** The error log of the server serving the session (SNI may choose another one). */
  get logger(): Logger {
    return this.route.errorLog ?? this.mainLogger;
  }

  // --- what variables, hash keys and phases read ---

  get remoteAddress(): string {
    return this.realAddr?.addr ?? this.client.remoteAddress;
  }
  get remotePort(): number {
    return this.realAddr?.port ?? this.client.remotePort;
  }
  get serverAddress(): string {
    return this.carried?.local.addr ?? this.client.localAddress;
  }
  get serverPort(): number {
    return this.carried?.local.port ?? this.client.localPort;
  }
  now(): number {
    return Date.now();
  }
  bytesSent(): number {
    return this.relayResult?.bytesToClient ?? this.client.bytesOut;
  }
  bytesReceived(): number {
    return this.relayResult?.bytesFromClient ?? this.client.bytesIn;
  }
  ssl(name: string): string | null {
    return sslVariable(this.tlsFacts, name, Date.now());
  }
  tlsServerName(name: string): void {
    this.tlsFacts = helloFacts(name);
  }
  chooseRoute(route: object): void {
    this.route = route as Route;
  }
  chooseServerByName(serverName: string): void {
    const route = findVirtualRoute(this.route.virtual, serverName, () => this.variables);
    if (route) this.route = route;
  }
  useTls(client: ClientConnection, facts: TlsFacts): void {
    this.client = client;
    this.tlsFacts = facts;
  }
  setRealip(addr: string, port: number): void {
    this.realip = { addr: this.client.remoteAddress, port: this.client.remotePort };
    this.realAddr = { addr, port };
  }
  keepEarlyData(bytes: Uint8Array): void {
    (this.early ??= []).push(bytes);
  }
  takeEarlyData(): Uint8Array | null {
    const early = this.early;
    this.early = null;
    return early === null ? null : concat(early);
  }
  /** The PROXY header for the upstream goes ahead of the client bytes the phases read. */
  protected keepEarlyDataFirst(bytes: Uint8Array): void {
    (this.early ??= []).unshift(bytes);
  }
  logClientError(level: "error" | "warn" | "info" | "notice", message: string): void {
    if (!this.logger.enabled(level)) return;
    this.logger.log(level, `*${this.id} ${message}, client: ${this.remoteAddress}, server: ${this.route.listenName}`);
  }
}
